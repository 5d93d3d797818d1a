/* cmd_table.h: THE command table. One row per command:
 *   name, handler, arity, flags, first key, last key, key step,
 *   group, since, args, summary
 * arity n = exactly n arguments including the name; -n = at least n
 * (Redis's convention). Key positions as in COMMAND INFO (last key -1: to
 * the end). Flags are documented in cmd.h. The table generates the cmd_id
 * enum, the handler prototypes, the dispatch array, COMMAND's replies and
 * the per-command calls/usec/errors counters.
 * The args column describes the arguments for COMMAND DOCS (and so for
 * redis-cli's hints): words separated by spaces; a lower-case word is an
 * argument ("key" a key), an UPPER-case word a literal token, TOKEN:word a
 * token followed by an argument; [x] is optional, x... repeats, (a|b) is
 * one of, {a b} is a group.
 * Subcommands (CLIENT LIST, CONFIG GET, COMMAND DOCS) are dispatched by
 * their parent's handler. */
#pragma once

/* clang-format off */
#define OH_COMMANDS(X)                                                                                                  \
    /* connection */                                                                                                    \
    X(ping,      cmd_ping,      -1, CMD_FAST | CMD_STALE,                 0, 0, 0, "connection", "1.0.0", "[message]", "Returns the server's liveliness response.") \
    X(echo,      cmd_echo,       2, CMD_FAST,                             0, 0, 0, "connection", "1.0.0", "message", "Returns the given string.") \
    X(quit,      cmd_quit,      -1, CMD_FAST | CMD_NOAUTH | CMD_STALE | CMD_NOQUEUE,    0, 0, 0, "connection", "1.0.0", "", "Closes the connection.") \
    X(select,    cmd_select,     2, CMD_FAST,                             0, 0, 0, "connection", "1.0.0", "index", "Changes the selected database (offheapd has only 0).") \
    X(hello,     cmd_hello,     -1, CMD_FAST | CMD_NOAUTH | CMD_STALE,    0, 0, 0, "connection", "6.0.0", "[{protover [AUTH:{username password}] [SETNAME:clientname]}]", "Handshakes with the server and selects RESP2 or RESP3.") \
    X(auth,      cmd_auth,      -2, CMD_FAST | CMD_NOAUTH | CMD_STALE,    0, 0, 0, "connection", "1.0.0", "[username] password", "Authenticates the connection.") \
    X(client,    cmd_client,    -2, CMD_STALE,                            0, 0, 0, "connection", "2.4.0", "subcommand [arg...]", "Client connection commands (ID SETNAME GETNAME SETINFO LIST KILL INFO NO-EVICT NO-TOUCH).") \
    X(reset,     cmd_reset,      1, CMD_FAST | CMD_NOAUTH | CMD_STALE | CMD_NOQUEUE,    0, 0, 0, "connection", "6.2.0", "", "Resets the connection.") \
    X(localread, cmd_localread, -2, CMD_NOMULTI,                          0, 0, 0, "connection", "0.2.0", "(MAP|STATUS)", "Local reads: MAP hands this Unix-socket client the engine's memory, read-only, and a feedback region (SCM_RIGHTS); STATUS tells whether it may.") \
    /* server */                                                                                                        \
    X(info,      cmd_info,      -1, CMD_STALE,                            0, 0, 0, "server", "1.0.0", "[section...]", "Returns information and statistics about the server.") \
    X(config,    cmd_config,    -2, CMD_ADMIN | CMD_STALE,                0, 0, 0, "server", "2.0.0", "subcommand [arg...]", "Configuration commands (GET SET RESETSTAT REWRITE).") \
    X(command,   cmd_command,   -1, CMD_STALE,                            0, 0, 0, "server", "2.8.13", "[subcommand] [arg...]", "Returns information about commands (COUNT DOCS INFO LIST).") \
    X(dbsize,    cmd_dbsize,     1, CMD_READ | CMD_FAST,                  0, 0, 0, "server", "1.0.0", "", "Returns the number of keys in the database.") \
    X(flushdb,   cmd_flushdb,   -1, CMD_WRITE,                            0, 0, 0, "server", "1.0.0", "[(ASYNC|SYNC)]", "Removes all keys.") \
    X(flushall,  cmd_flushall,  -1, CMD_WRITE,                            0, 0, 0, "server", "1.0.0", "[(ASYNC|SYNC)]", "Removes all keys.") \
    X(time,      cmd_time,       1, CMD_FAST | CMD_STALE,                 0, 0, 0, "server", "2.6.0", "", "Returns the server time.") \
    X(memory,    cmd_memory,    -2, CMD_READ,                             0, 0, 0, "server", "4.0.0", "subcommand [arg...]", "Memory introspection (USAGE STATS DOCTOR).") \
    X(function,  cmd_function,  -2, CMD_ADMIN,                            0, 0, 0, "scripting", "7.0.0", "subcommand [arg...]", "Function commands: offheapd runs no code, so FLUSH and LIST see no functions.") \
    X(debug,     cmd_debug,     -2, CMD_ADMIN,                            0, 0, 0, "server", "1.0.0", "subcommand [arg...]", "Debugging commands.") \
    X(save,      snapshot_cmd_save,      1, CMD_ADMIN | CMD_NOMULTI,      0, 0, 0, "server", "1.0.0", "", "Synchronously saves the keyspace to the snapshot file.") \
    X(bgsave,    snapshot_cmd_bgsave,   -1, CMD_ADMIN,                    0, 0, 0, "server", "1.0.0", "[SCHEDULE]", "Saves the keyspace to the snapshot file in a background child.") \
    X(lastsave,  snapshot_cmd_lastsave,  1, CMD_FAST | CMD_STALE,         0, 0, 0, "server", "1.0.0", "", "Returns the Unix timestamp of the last successful save.") \
    X(shutdown,  snapshot_cmd_shutdown, -1, CMD_ADMIN | CMD_STALE | CMD_NOMULTI, 0, 0, 0, "server", "1.0.0", "[(NOSAVE|SAVE)] [NOW] [FORCE]", "Saves the snapshot (unless NOSAVE) and stops the server.") \
    X(monitor,   cmd_monitor,    1, CMD_ADMIN | CMD_STALE,                0, 0, 0, "server", "1.0.0", "", "Streams every command the server receives.") \
    X(slowlog,   slowlog_cmd,           -2, CMD_ADMIN | CMD_STALE,        0, 0, 0, "server", "2.2.12", "subcommand [arg...]", "Slow log commands (GET LEN RESET HELP).") \
    X(latency,   latency_cmd,           -2, CMD_ADMIN | CMD_STALE,        0, 0, 0, "server", "2.8.13", "subcommand [arg...]", "Latency monitor commands (LATEST HISTORY RESET HELP).") \
    /* strings */                                                                                                       \
    X(get,       cmd_get,        2, CMD_READ | CMD_FAST,                  1, 1, 1, "string", "1.0.0", "key", "Returns the string value of a key.") \
    X(set,       cmd_set,       -3, CMD_WRITE | CMD_DENYOOM,              1, 1, 1, "string", "1.0.0", "key value [(NX|XX)] [GET] [(EX:seconds|PX:milliseconds|EXAT:unix-time-seconds|PXAT:unix-time-milliseconds|KEEPTTL)]", "Sets the string value of a key, with optional expiry and conditions.") \
    X(setnx,     cmd_setnx,      3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,   1, 1, 1, "string", "1.0.0", "key value", "Sets the value of a key only when the key doesn't exist.") \
    X(setex,     cmd_setex,      4, CMD_WRITE | CMD_DENYOOM,              1, 1, 1, "string", "2.0.0", "key seconds value", "Sets the value and expiry in seconds of a key.") \
    X(psetex,    cmd_psetex,     4, CMD_WRITE | CMD_DENYOOM,              1, 1, 1, "string", "2.6.0", "key milliseconds value", "Sets the value and expiry in milliseconds of a key.") \
    X(getex,     cmd_getex,     -2, CMD_WRITE | CMD_FAST,                 1, 1, 1, "string", "6.2.0", "key [(EX:seconds|PX:milliseconds|EXAT:unix-time-seconds|PXAT:unix-time-milliseconds|PERSIST)]", "Returns the value of a key after setting its expiry.") \
    X(getdel,    cmd_getdel,     2, CMD_WRITE | CMD_FAST,                 1, 1, 1, "string", "6.2.0", "key", "Returns the value of a key after deleting it.") \
    X(getset,    cmd_getset,     3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,   1, 1, 1, "string", "1.0.0", "key value", "Returns the previous value of a key after setting it.") \
    X(mget,      cmd_mget,      -2, CMD_READ | CMD_FAST,                  1, -1, 1, "string", "1.0.0", "key...", "Returns the values of one or more keys.") \
    X(mset,      cmd_mset,      -3, CMD_WRITE | CMD_DENYOOM,              1, -1, 2, "string", "1.0.1", "{key value}...", "Sets the values of one or more keys.") \
    X(msetnx,    cmd_msetnx,    -3, CMD_WRITE | CMD_DENYOOM,              1, -1, 2, "string", "1.0.1", "{key value}...", "Sets the values of keys only when none of them exist.") \
    X(append,    cmd_append,     3, CMD_WRITE | CMD_DENYOOM,              1, 1, 1, "string", "2.0.0", "key value", "Appends a string to the value of a key.") \
    X(strlen,    cmd_strlen,     2, CMD_READ | CMD_FAST,                  1, 1, 1, "string", "2.2.0", "key", "Returns the length of a string value.") \
    X(getrange,  cmd_getrange,   4, CMD_READ,                             1, 1, 1, "string", "2.4.0", "key start end", "Returns a substring of a string value.") \
    X(substr,    cmd_getrange,   4, CMD_READ,                             1, 1, 1, "string", "1.0.0", "key start end", "Returns a substring of a string value.") \
    X(setrange,  cmd_setrange,   4, CMD_WRITE | CMD_DENYOOM,              1, 1, 1, "string", "2.2.0", "key offset value", "Overwrites part of a string value at an offset.") \
    X(incr,      cmd_incr,       2, CMD_WRITE | CMD_DENYOOM | CMD_FAST,   1, 1, 1, "string", "1.0.0", "key", "Increments the integer value of a key by one.") \
    X(decr,      cmd_decr,       2, CMD_WRITE | CMD_DENYOOM | CMD_FAST,   1, 1, 1, "string", "1.0.0", "key", "Decrements the integer value of a key by one.") \
    X(incrby,    cmd_incrby,     3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,   1, 1, 1, "string", "1.0.0", "key increment", "Increments the integer value of a key by a number.") \
    X(decrby,    cmd_decrby,     3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,   1, 1, 1, "string", "1.0.0", "key decrement", "Decrements the integer value of a key by a number.") \
    X(incrbyfloat, cmd_incrbyfloat, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "string", "2.6.0", "key increment", "Increments the floating point value of a key by a number.") \
    X(lcs,       cmd_lcs,       -3, CMD_READ,                             1, 2, 1, "string", "7.0.0", "key1 key2 [LEN] [IDX] [MINMATCHLEN:min-match-len] [WITHMATCHLEN]", "Finds the longest common substring.") \
    /* bitmaps */                                                                                                       \
    X(getbit,    cmd_getbit,     3, CMD_READ | CMD_FAST,                  1, 1, 1, "bitmap", "2.2.0", "key offset", "Returns a bit value by offset.") \
    X(setbit,    cmd_setbit,     4, CMD_WRITE | CMD_DENYOOM,              1, 1, 1, "bitmap", "2.2.0", "key offset value", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.") \
    X(bitcount,  cmd_bitcount,  -2, CMD_READ,                             1, 1, 1, "bitmap", "2.6.0", "key [{start end [(BYTE|BIT)]}]", "Counts the number of set bits (population counting) in a string.") \
    X(bitpos,    cmd_bitpos,    -3, CMD_READ,                             1, 1, 1, "bitmap", "2.8.7", "key bit [{start [{end [(BYTE|BIT)]}]}]", "Finds the first set (1) or clear (0) bit in a string.") \
    X(bitop,     cmd_bitop,     -4, CMD_WRITE | CMD_DENYOOM,              2, -1, 1, "bitmap", "2.6.0", "(AND|OR|XOR|NOT) destkey key...", "Performs bitwise operations on multiple strings, and stores the result.") \
    /* keys */                                                                                                          \
    X(del,       cmd_del,       -2, CMD_WRITE,                            1, -1, 1, "generic", "1.0.0", "key...", "Deletes one or more keys.") \
    X(unlink,    cmd_del,       -2, CMD_WRITE | CMD_FAST,                 1, -1, 1, "generic", "4.0.0", "key...", "Deletes one or more keys.") \
    X(exists,    cmd_exists,    -2, CMD_READ | CMD_FAST,                  1, -1, 1, "generic", "1.0.0", "key...", "Counts how many of the given keys exist.") \
    X(type,      cmd_type,       2, CMD_READ | CMD_FAST,                  1, 1, 1, "generic", "1.0.0", "key", "Returns the type of the value stored at a key.") \
    X(rename,    cmd_rename,     3, CMD_WRITE,                            1, 2, 1, "generic", "1.0.0", "key newkey", "Renames a key, overwriting the destination.") \
    X(renamenx,  cmd_renamenx,   3, CMD_WRITE | CMD_FAST,                 1, 2, 1, "generic", "1.0.0", "key newkey", "Renames a key only when the destination doesn't exist.") \
    X(copy,      cmd_copy,      -3, CMD_WRITE | CMD_DENYOOM,              1, 2, 1, "generic", "6.2.0", "source destination [DB:destination-db] [REPLACE]", "Copies the value of a key to a new key.") \
    X(dump,      cmd_dump,       2, CMD_READ,                             1, 1, 1, "generic", "2.6.0", "key", "Returns a serialized representation of the value stored at a key.") \
    X(restore,   cmd_restore,   -4, CMD_WRITE | CMD_DENYOOM,              1, 1, 1, "generic", "2.6.0", "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME:seconds] [FREQ:frequency]", "Creates a key from the serialized representation of a value (IDLETIME and FREQ are accepted and ignored).") \
    X(object,    cmd_object,    -2, CMD_READ,                             0, 0, 0, "generic", "2.2.3", "subcommand [arg...]", "Object introspection (ENCODING REFCOUNT HELP).") \
    X(expire,    cmd_expire,    -3, CMD_WRITE | CMD_FAST,                 1, 1, 1, "generic", "1.0.0", "key seconds [(NX|XX|GT|LT)]", "Sets the expiry of a key in seconds.") \
    X(pexpire,   cmd_pexpire,   -3, CMD_WRITE | CMD_FAST,                 1, 1, 1, "generic", "2.6.0", "key milliseconds [(NX|XX|GT|LT)]", "Sets the expiry of a key in milliseconds.") \
    X(expireat,  cmd_expireat,  -3, CMD_WRITE | CMD_FAST,                 1, 1, 1, "generic", "1.2.0", "key unix-time-seconds [(NX|XX|GT|LT)]", "Sets the expiry of a key to a Unix timestamp.") \
    X(pexpireat, cmd_pexpireat, -3, CMD_WRITE | CMD_FAST,                 1, 1, 1, "generic", "2.6.0", "key unix-time-milliseconds [(NX|XX|GT|LT)]", "Sets the expiry of a key to a Unix time in milliseconds.") \
    X(expiretime, cmd_expiretime, 2, CMD_READ | CMD_FAST,                 1, 1, 1, "generic", "7.0.0", "key", "Returns the expiry of a key as a Unix timestamp.") \
    X(pexpiretime, cmd_pexpiretime, 2, CMD_READ | CMD_FAST,               1, 1, 1, "generic", "7.0.0", "key", "Returns the expiry of a key as a Unix time in milliseconds.") \
    X(ttl,       cmd_ttl,        2, CMD_READ | CMD_FAST,                  1, 1, 1, "generic", "1.0.0", "key", "Returns the time to live of a key in seconds.") \
    X(pttl,      cmd_pttl,       2, CMD_READ | CMD_FAST,                  1, 1, 1, "generic", "2.6.0", "key", "Returns the time to live of a key in milliseconds.") \
    X(persist,   cmd_persist,    2, CMD_WRITE | CMD_FAST,                 1, 1, 1, "generic", "2.2.0", "key", "Removes the expiry of a key.") \
    X(touch,     cmd_touch,     -2, CMD_READ | CMD_FAST,                  1, -1, 1, "generic", "3.2.1", "key...", "Marks keys as accessed; returns how many exist.") \
    X(scan,      cmd_scan,      -2, CMD_READ,                             0, 0, 0, "generic", "2.8.0", "cursor [MATCH:pattern] [COUNT:count] [TYPE:type]", "Iterates over the keys.") \
    X(keys,      cmd_keys,       2, CMD_READ,                             0, 0, 0, "generic", "1.0.0", "pattern", "Returns all key names that match a pattern.") \
    X(randomkey, cmd_randomkey,  1, CMD_READ,                             0, 0, 0, "generic", "1.0.0", "", "Returns a random key name.") \
    /* transactions */                                                                                                  \
    X(multi,     cmd_multi,      1, CMD_FAST | CMD_NOQUEUE,               0, 0, 0, "transactions", "1.2.0", "", "Starts a transaction.") \
    X(exec,      cmd_exec,       1, CMD_NOQUEUE,                          0, 0, 0, "transactions", "1.2.0", "", "Executes the queued commands.") \
    X(discard,   cmd_discard,    1, CMD_FAST | CMD_NOQUEUE,               0, 0, 0, "transactions", "2.0.0", "", "Discards the queued commands.") \
    X(watch,     cmd_watch,     -2, CMD_FAST | CMD_NOQUEUE,               1, -1, 1, "transactions", "2.2.0", "key...", "Watches keys for changes before EXEC.") \
    X(unwatch,   cmd_unwatch,    1, CMD_FAST,                             0, 0, 0, "transactions", "2.2.0", "", "Forgets the watched keys.")
/* clang-format on */

'use strict';
/*
 * Every error offheap raises is an OffheapError (an Error) with a string
 * `code`; `rc` is liboffheap's number where there is one.
 *
 *   OffheapError           base; code OFFHEAP_ERR, OFFHEAP_NOMEM, OFFHEAP_INVAL,
 *                          OFFHEAP_PROTOCOL, OFFHEAP_TYPE
 *   ConnectionError        OFFHEAP_IO (refused, reset), OFFHEAP_DOWN (waiting to
 *                          reconnect)
 *   TimeoutError           OFFHEAP_TIMEOUT (the call's deadline passed)
 *   ServerError            OFFHEAP_SERVER (an error reply; the text is the
 *                          server's, e.g. "ERR value is not an integer ...")
 *   ClosedError            OFFHEAP_CLOSED (the client was closed)
 *   SerializationError     OFFHEAP_SERIALIZE (a value the serializer cannot
 *                          write, or stored bytes it cannot read)
 *   FetchError             OFFHEAP_FETCH (fetch() has no loader)
 */
class OffheapError extends Error {
  constructor(message, code = 'OFFHEAP_ERR', rc, options) {
    super(message, options);
    this.name = 'OffheapError';
    this.code = code;
    if (rc !== undefined) this.rc = rc;
  }
}
class ConnectionError extends OffheapError {
  constructor(message, code = 'OFFHEAP_IO', rc, options) {
    super(message, code, rc, options);
    this.name = 'ConnectionError';
  }
}
class TimeoutError extends OffheapError {
  constructor(message, code = 'OFFHEAP_TIMEOUT', rc, options) {
    super(message, code, rc, options);
    this.name = 'TimeoutError';
  }
}
class ServerError extends OffheapError {
  constructor(message, code = 'OFFHEAP_SERVER', rc, options) {
    super(message, code, rc, options);
    this.name = 'ServerError';
  }
}
class ClosedError extends OffheapError {
  constructor(message, code = 'OFFHEAP_CLOSED', rc, options) {
    super(message, code, rc, options);
    this.name = 'ClosedError';
  }
}
class SerializationError extends OffheapError {
  constructor(message, options) {
    super(message, 'OFFHEAP_SERIALIZE', undefined, options);
    this.name = 'SerializationError';
  }
}
class FetchError extends OffheapError {
  constructor(message, options) {
    super(message, 'OFFHEAP_FETCH', undefined, options);
    this.name = 'FetchError';
  }
}

const BY_CODE = {
  OFFHEAP_IO: ConnectionError,
  OFFHEAP_DOWN: ConnectionError,
  OFFHEAP_TIMEOUT: TimeoutError,
  OFFHEAP_SERVER: ServerError,
  OFFHEAP_CLOSED: ClosedError,
};

/* Called by the addon for every failure it reports. */
function fromNative(code, message, rc) {
  const C = BY_CODE[code] || OffheapError;
  return new C(message, code, rc);
}

module.exports = {
  OffheapError, ConnectionError, TimeoutError, ServerError, ClosedError,
  SerializationError, FetchError, fromNative,
};

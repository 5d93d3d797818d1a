'use strict';
/*
 * How OffheapCache stores a value, so that every reader agrees:
 *
 *   a string        its UTF-8 bytes, nothing added (redis-cli, ioredis and
 *                   every other client see the string itself)
 *   anything else   0xFF, a tag byte, then the payload:
 *                     'J' JSON text (the default serializer)
 *                     'V' v8.serialize() (serializer: 'v8')
 *                     'C' the bytes of a custom serializer
 *                     'B' a Buffer / Uint8Array, as it is
 *
 * 0xFF never occurs in UTF-8, so no string, whoever wrote it, can be taken
 * for a tagged value: on read, bytes that do not start with 0xFF and are
 * valid UTF-8 are a string; bytes that are not valid UTF-8 (binary another
 * client wrote) come back as a Buffer, as do 0xFF bytes with an unknown tag.
 * Strings and Buffers never go through the serializer.
 */
const v8 = require('node:v8');
const { isUtf8 } = require('node:buffer');
const { SerializationError } = require('./errors');

const MARK = 0xff;
const TAG = { json: 0x4a /* J */, v8: 0x56 /* V */, custom: 0x43 /* C */, bytes: 0x42 /* B */ };

const utf8 = typeof isUtf8 === 'function'
  ? isUtf8
  : (() => {
    const dec = new TextDecoder('utf-8', { fatal: true });
    return (b) => { try { dec.decode(b); return true; } catch { return false; } };
  })();

function header(tag) { return Buffer.from([MARK, tag]); }

const SERIALIZERS = {
  json: {
    tag: TAG.json,
    serialize(v) {
      const s = JSON.stringify(v);
      if (s === undefined) throw new TypeError(`JSON cannot represent a ${typeof v}`);
      return Buffer.from(s, 'utf8');
    },
    deserialize(b) { return JSON.parse(b.toString('utf8')); },
  },
  v8: {
    tag: TAG.v8,
    serialize: (v) => v8.serialize(v),
    deserialize: (b) => v8.deserialize(b),
  },
};

/* serializer: 'json' | 'v8' | { serialize(value): Buffer|string, deserialize(Buffer): value } */
function makeCodec(serializer = 'json') {
  let ser;
  if (typeof serializer === 'string') {
    ser = SERIALIZERS[serializer];
    if (!ser) throw new TypeError(`unknown serializer "${serializer}" (want "json", "v8" or {serialize, deserialize})`);
  } else if (serializer && typeof serializer.serialize === 'function' &&
             typeof serializer.deserialize === 'function') {
    ser = {
      tag: TAG.custom,
      serialize(v) {
        const out = serializer.serialize(v);
        if (typeof out === 'string') return Buffer.from(out, 'utf8');
        if (out instanceof Uint8Array) return out;
        throw new TypeError('serialize() must return a Buffer or a string');
      },
      deserialize: (b) => serializer.deserialize(b),
    };
  } else {
    throw new TypeError('serializer must be "json", "v8" or an object with serialize and deserialize');
  }
  const head = header(ser.tag);
  const bytesHead = header(TAG.bytes);

  function encode(value) {
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array) {
      return Buffer.concat([bytesHead, value]);
    }
    let payload;
    try {
      payload = ser.serialize(value);
    } catch (e) {
      throw new SerializationError(`cannot serialize the value: ${e.message}`, { cause: e });
    }
    return Buffer.concat([head, payload]);
  }

  function decode(buf) {
    if (buf === null || buf === undefined) return undefined;
    if (buf.length >= 2 && buf[0] === MARK) {
      const tag = buf[1];
      const body = buf.subarray(2);
      if (tag === TAG.bytes) return Buffer.from(body);
      let s = null;
      if (tag === ser.tag) s = ser;
      else if (tag === TAG.json) s = SERIALIZERS.json;
      else if (tag === TAG.v8) s = SERIALIZERS.v8;
      if (s === null) return buf; /* an unknown tag or another client's binary */
      try {
        return s.deserialize(body);
      } catch (e) {
        throw new SerializationError(`cannot read the stored value: ${e.message}`, { cause: e });
      }
    }
    return utf8(buf) ? buf.toString('utf8') : buf;
  }

  return { encode, decode };
}

module.exports = { makeCodec, MARK, TAG };

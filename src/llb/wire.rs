//! Protobuf written by hand, byte for byte as prost writes the same message:
//! fields in tag order, proto3 defaults left out, a map entry as a message
//! of key (1) and value (2). `marshal_bytes` uses it for the definition's
//! envelope (metadata, source map, source texts), which it writes from
//! borrowed data instead of building owned prost messages only to encode
//! and drop them. `marshal`'s tests check it against prost.

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

/// A `string` or `bytes` field; left out when empty.
pub fn bytes(tag: u32, b: &[u8], buf: &mut Vec<u8>) {
    if !b.is_empty() {
        element(tag, b, buf);
    }
}

/// The length of what `bytes` writes.
pub fn bytes_len(tag: u32, b: &[u8]) -> usize {
    if b.is_empty() {
        0
    } else {
        message_len(tag, b.len())
    }
}

/// One element of a `repeated bytes` field: written even when empty.
pub fn element(tag: u32, b: &[u8], buf: &mut Vec<u8>) {
    header(tag, b.len(), buf);
    buf.extend_from_slice(b);
}

/// The key and length of a length-delimited field of `len` bytes, which
/// the caller writes next.
pub fn header(tag: u32, len: usize, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

/// The length of a length-delimited field holding `len` bytes.
pub fn message_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// A `bool` field; left out when false.
pub fn boolean(tag: u32, v: bool, buf: &mut Vec<u8>) {
    if v {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(1, buf);
    }
}

/// An `int32` field; left out when 0. A negative value takes ten bytes,
/// sign-extended, as in every protobuf implementation.
pub fn int32(tag: u32, v: i32, buf: &mut Vec<u8>) {
    if v != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(i64::from(v) as u64, buf);
    }
}

/// A message field, or one element of a repeated one: written even when
/// empty. `body` writes the fields in place; the key and the length are
/// then put in front of them, so nothing is encoded twice.
pub fn message(tag: u32, buf: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    body(buf);
    header_before(tag, start, 0, buf);
}

/// The value of a map entry (field 2): as `message`, but left out when
/// empty, as prost leaves out a value equal to its default.
pub fn map_value(buf: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    body(buf);
    if buf.len() > start {
        header_before(2, start, 0, buf);
    }
}

/// Puts the key and the length of the length-delimited field `tag` in
/// front of `buf[start..]`, which holds its first bytes; `rest` more bytes
/// of it are still to be written.
pub fn header_before(tag: u32, start: usize, rest: usize, buf: &mut Vec<u8>) {
    let end = buf.len();
    header(tag, end - start + rest, buf);
    let head = buf.len() - end;
    buf[start..].rotate_right(head);
}

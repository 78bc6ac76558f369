/**
 * UTF-8 length of a string without allocating an encoded copy: the SDK measures every event it
 * queues, and a TextEncoder round trip per event would double the memory churn for large ones.
 * Lone surrogates count as 3 bytes, as TextEncoder encodes them as U+FFFD (JSON.stringify escapes
 * them anyway, so JSON text never contains one).
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      bytes += 1;
    } else if (code < 0x800) {
      bytes += 2;
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair is one code point outside the BMP: 4 bytes.
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

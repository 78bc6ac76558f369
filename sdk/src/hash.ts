/**
 * SHA-256 through WebCrypto (`globalThis.crypto.subtle`), present in browsers and in Node >= 20.
 * Browsers only expose it in secure contexts (https, localhost), so callers must handle absence:
 * without it identifiers cannot be hashed and therefore must not be sent at all.
 */
export type Sha256Hex = (text: string) => Promise<string>;

export function webCryptoAvailable(): boolean {
  return typeof globalThis.crypto?.subtle?.digest === 'function';
}

export async function sha256Hex(text: string): Promise<string> {
  const data = new TextEncoder().encode(text);
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data);
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

// The one part of Meta's Node SDK (a dev dependency) the hash-vector test uses; it ships no types.
declare module 'facebook-nodejs-business-sdk' {
  export const ServerSideUtils: { normalizeAndHash(input: string, field: string): string | null };
}

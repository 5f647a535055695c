// The base45 package (RFC 9285) ships no types.
declare module 'base45' {
  export function encode (data: Uint8Array | string): string
  export function decode (text: string): Uint8Array
  const base45: { encode: typeof encode, decode: typeof decode }
  export default base45
}

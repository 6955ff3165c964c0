/**
 * The one rule for a pod's interface name (CNI_IFNAME), shared by the CNI edge (src/cni/env.ts,
 * code 4) and the plug spec: the kernel's (1–15 bytes, not "." or "..", no "/", ":" or
 * whitespace) narrowed to the characters the plug can hand `ip -batch` as one word. iproute2's
 * batch reader cuts a line at "#" and treats quotes specially, so `eth0#x` would reach the
 * kernel as `eth0`. Imports nothing: the CNI plugin's VERSION path loads it.
 *
 *   ifnameProblem('eth0');   // undefined
 *   ifnameProblem('eth0#x'); // 'may hold only letters, digits and "_", ".", "-", "@", "%", "+", ",", "="'
 */

/** Characters a pod interface name may hold (each also safe as an `ip -batch` word). */
const IFNAME_CHARS = /^[A-Za-z0-9_.@%+,=-]+$/;

/** Why `name` cannot be a pod's interface name, or undefined when it can. */
export function ifnameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  // IFNAMSIZ is 16 bytes including the terminating NUL.
  if (Buffer.byteLength(name, 'utf8') > 15) return 'is longer than 15 bytes';
  if (!IFNAME_CHARS.test(name))
    return 'may hold only letters, digits and "_", ".", "-", "@", "%", "+", ",", "="';
  return undefined;
}

/**
 * A V8 stack frame anywhere in a text: "at fn (/path/x.ts:1:2)", "at async fn (file:///x.js:1:2)",
 * "at node:internal/x:1:2" or "at /path/x.js:1:2", or a .ts line reference. A message that only
 * contains "at" and colons ("must be at least 68 ... like c2:11:22:33:44:55") is not one.
 */
export const STACK_TRACE = /\bat (?:[^()\n]* \()?(?:file:\/\/|node:|\/)[^\s()]*:\d+:\d+|\.ts:\d+/;

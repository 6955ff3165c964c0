/**
 * Splits a command line into flags and positional arguments with pflag's rules (the library
 * kubectl uses): `--flag=value`, `--flag value`, `-f value`, `-fvalue`, `-f=value`, clusters of
 * boolean shorts (`-it`), a flag with a default value only takes one with `=`, and `--` ends the
 * flags. Tokens remember where they came from so callers can remove exactly their own.
 */
import type { Arity } from './kubectl-flags.ts';

export interface FlagDef {
  /** Canonical long name. */
  name: string;
  arity: Arity;
}

/** Looks a flag up by long name (short = false) or by its letter (short = true). */
export type ResolveFlag = (name: string, short: boolean) => FlagDef | undefined;

export interface FlagToken {
  kind: 'flag';
  /** Canonical long name when known; otherwise the name as typed (without dashes). */
  name: string;
  known: boolean;
  short: boolean;
  /** The name as typed: a long name or the letter. */
  typed: string;
  value: string | undefined;
  /** A flag that needs a value ended the line. */
  missingValue: boolean;
  /** argv[start, end) holds this flag (and its value); shared by the letters of `-abc`. */
  start: number;
  end: number;
}

export interface ArgToken {
  kind: 'arg';
  value: string;
  index: number;
}

export type Token = FlagToken | ArgToken;

export interface Scanned {
  tokens: Token[];
  /** Index of the `--` that ended the flags, if any. */
  dashdash: number | undefined;
}

export function scan(argv: readonly string[], resolve: ResolveFlag, unknownArity: Arity = 'none'): Scanned {
  const tokens: Token[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') return { tokens, dashdash: i };
    if (a.startsWith('--')) {
      const body = a.slice(2);
      const eq = body.indexOf('=');
      const typed = eq < 0 ? body : body.slice(0, eq);
      const def = resolve(typed, false);
      const arity = def?.arity ?? unknownArity;
      const token: FlagToken = {
        kind: 'flag',
        name: def?.name ?? typed,
        known: def !== undefined,
        short: false,
        typed,
        value: eq < 0 ? undefined : body.slice(eq + 1),
        missingValue: false,
        start: i,
        end: i + 1,
      };
      if (eq < 0 && arity === 'required') {
        if (i + 1 < argv.length) {
          token.value = argv[i + 1];
          token.end = i + 2;
        } else token.missingValue = true;
      }
      tokens.push(token);
      i = token.end;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      let end = i + 1;
      for (let j = 1; j < a.length; j++) {
        const letter = a[j]!;
        const def = resolve(letter, true);
        const arity = def?.arity ?? unknownArity;
        const token: FlagToken = {
          kind: 'flag',
          name: def?.name ?? letter,
          known: def !== undefined,
          short: true,
          typed: letter,
          value: undefined,
          missingValue: false,
          start: i,
          end: i + 1,
        };
        tokens.push(token);
        if (a[j + 1] === '=') {
          token.value = a.slice(j + 2);
          break;
        }
        if (arity === 'required') {
          if (j + 1 < a.length) token.value = a.slice(j + 1);
          else if (i + 1 < argv.length) {
            token.value = argv[i + 1];
            end = i + 2;
          } else token.missingValue = true;
          break;
        }
      }
      for (let k = tokens.length - 1; k >= 0; k--) {
        const t = tokens[k]!;
        if (t.kind !== 'flag' || t.start !== i) break;
        t.end = end;
      }
      i = end;
      continue;
    }
    tokens.push({ kind: 'arg', value: a, index: i });
    i++;
  }
  return { tokens, dashdash: undefined };
}

/** A resolver over a long-name → arity map and a short-letter → long-name map. */
export function resolverOf(
  arities: ReadonlyMap<string, Arity>,
  shorts: Readonly<Record<string, string>>,
): ResolveFlag {
  return (name, short) => {
    const long = short ? shorts[name] : name;
    if (long === undefined) return undefined;
    const arity = arities.get(long);
    return arity === undefined ? undefined : { name: long, arity };
  };
}

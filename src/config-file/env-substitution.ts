/**
 * `${env:VAR}` and `${env:VAR:-default}` in config values, as the Collector's env provider does.
 * Substitution happens on parsed string values (never on raw YAML text, so a value cannot inject
 * structure). A value that is exactly one reference is re-read as a YAML scalar, so `${env:PORT}`
 * can be a number. An unset variable without a default becomes the empty string, as in the Collector.
 */
import { parse as parseYaml } from 'yaml';

const REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

type Env = Readonly<Record<string, string | undefined>>;

function lookup(env: Env, name: string, fallback: string | undefined): string {
  const value = env[name];
  return value !== undefined && value !== '' ? value : (fallback ?? '');
}

function substituteString(value: string, env: Env): unknown {
  const whole = WHOLE_REFERENCE.exec(value);
  if (whole) {
    const text = lookup(env, whole[1] as string, whole[2]);
    try {
      const scalar: unknown = parseYaml(text);
      return scalar !== null && typeof scalar === 'object' ? text : (scalar ?? text);
    } catch {
      return text;
    }
  }
  return value.replace(REFERENCE, (_m, name: string, fallback: string | undefined) => lookup(env, name, fallback));
}

export function substituteEnv(tree: unknown, env: Env): unknown {
  if (typeof tree === 'string') return substituteString(tree, env);
  if (Array.isArray(tree)) return tree.map((v) => substituteEnv(v, env));
  if (tree !== null && typeof tree === 'object') {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(tree)) out[k] = substituteEnv(v, env);
    return out;
  }
  return tree;
}

/**
 * Reading an Agent Lightning CLI's output into kc's legacy result shape: JSON (the shape itself,
 * possibly after log lines) or markdown with one headed section per recommendation:
 *
 *   ## Recommendations
 *   ### 1. Add backoff to web_search retries
 *   **Priority:** high · **Category:** reliability · **Impact:** major · **Effort:** M
 *   Free text paragraphs → description.
 *   **Implementation:** text (or the paragraphs under an "Implementation" label)
 *   **Acceptance Criteria:** followed by `- item` lines (likewise **Do:** / **Don't:**)
 *
 * Missing fields get neutral defaults (priority medium, effort M, category general).
 */
import { createHash } from 'node:crypto';
import { LEGACY_EFFORTS, LEGACY_PRIORITIES, legacyRecommendationSchema, type LegacyRecommendation } from './legacy-result.js';

const hash = (text: string, len = 16) => createHash('sha256').update(text).digest('hex').slice(0, len);

type Priority = (typeof LEGACY_PRIORITIES)[number];
type Effort = (typeof LEGACY_EFFORTS)[number];

export function normalizePriority(v: unknown): Priority {
  const s = String(v ?? '').trim().toLowerCase();
  if ((LEGACY_PRIORITIES as readonly string[]).includes(s)) return s as Priority;
  if (s === 'p0' || s === 'urgent') return 'critical';
  if (s === 'p1') return 'high';
  if (s === 'p3' || s === 'minor') return 'low';
  return 'medium';
}

export function normalizeEffort(v: unknown): Effort {
  const s = String(v ?? '').trim().toUpperCase();
  if ((LEGACY_EFFORTS as readonly string[]).includes(s)) return s as Effort;
  const words: Record<string, Effort> = { SMALL: 'S', MEDIUM: 'M', LARGE: 'L', 'EXTRA LARGE': 'XL', 'X-LARGE': 'XL', LOW: 'S', HIGH: 'L' };
  return words[s] ?? 'M';
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string' || typeof x === 'number').map(String) : typeof v === 'string' && v !== '' ? [v] : []);

/**
 * A recommendation-like object (from a CLI's JSON) brought to the legacy shape: known fields
 * kept, missing ones defaulted, ids and content hash derived from the text when absent.
 */
export function normalizeLegacyRecommendation(raw: Record<string, unknown>, generatedAt: string, source: string): LegacyRecommendation {
  const title = String(raw['title'] ?? raw['name'] ?? 'Untitled recommendation').trim() || 'Untitled recommendation';
  const description = String(raw['description'] ?? raw['summary'] ?? '');
  const constraints = (raw['constraints'] ?? {}) as Record<string, unknown>;
  const meta = (raw['metadata'] ?? {}) as Record<string, unknown>;
  const contentHash = typeof meta['contentHash'] === 'string' && meta['contentHash'] !== '' ? meta['contentHash'] : hash(`${title}\n${description}`);
  const rec = {
    ...raw,
    id: String(raw['id'] ?? `REC-${hash(title, 12)}`),
    title,
    description,
    priority: normalizePriority(raw['priority']),
    category: String(raw['category'] ?? 'general') || 'general',
    impact: String(raw['impact'] ?? 'moderate') || 'moderate',
    effort: normalizeEffort(raw['effort']),
    implementation: Array.isArray(raw['implementation']) ? strings(raw['implementation']).join('\n') : String(raw['implementation'] ?? ''),
    acceptanceCriteria: strings(raw['acceptanceCriteria'] ?? raw['acceptance_criteria']),
    constraints: { ...constraints, do: strings(constraints['do']), dont: strings(constraints['dont'] ?? constraints["don't"]) },
    metadata: {
      ...meta,
      source: typeof meta['source'] === 'string' && meta['source'] !== '' ? meta['source'] : source,
      generatedAt: typeof meta['generatedAt'] === 'string' && !Number.isNaN(Date.parse(meta['generatedAt'])) ? new Date(meta['generatedAt']).toISOString() : generatedAt,
      contentHash,
    },
  };
  return legacyRecommendationSchema.parse(rec);
}

/** The first complete JSON object in a text (a CLI may print log lines before it). */
export function extractJsonObject(raw: string): unknown {
  const trimmed = raw.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    // fall through: look for an object after leading noise
  }
  const start = trimmed.indexOf('{');
  const end = trimmed.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    return JSON.parse(trimmed.slice(start, end + 1));
  } catch {
    return undefined;
  }
}

const FIELD_ALIASES: Record<string, string> = {
  priority: 'priority',
  category: 'category',
  impact: 'impact',
  effort: 'effort',
  implementation: 'implementation',
  'implementation steps': 'implementation',
  steps: 'implementation',
  description: 'description',
  'acceptance criteria': 'acceptanceCriteria',
  acceptancecriteria: 'acceptanceCriteria',
  do: 'do',
  "don't": 'dont',
  'don’t': 'dont',
  dont: 'dont',
  "do not": 'dont',
  id: 'id',
};

/** `**Key:** value`, `- **Key**: value`, `Key: value` (known keys only), several per line split by `·` or `|`. */
function fieldsOf(line: string): [string, string][] | undefined {
  const parts = line.replace(/^\s*[-*]\s+/, '').split(/\s+[·|]\s+/);
  const out: [string, string][] = [];
  for (const part of parts) {
    const m = /^\s*(?:\*\*|__)?([A-Za-z'’ ]+?)(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:|:)\s*(.*)$/.exec(part);
    const key = m ? FIELD_ALIASES[(m[1] as string).trim().toLowerCase()] : undefined;
    if (!m || key === undefined) return out.length > 0 ? out : undefined;
    out.push([key, (m[2] as string).replace(/^\*\*|\*\*$/g, '').trim()]);
  }
  return out;
}

/** "## Recommendations" (also "Top recommendations:", "3. Recommendations"): the sections under it are recommendations. */
const RECOMMENDATIONS_CONTAINER = /^(?:\d+[.)]\s*)?(?:top |key |prioriti[sz]ed |suggested )?recommendations\s*:?$/i;
/** "### Recommendation 2: Add backoff": a recommendation section wherever it stands. */
const RECOMMENDATION_HEADING = /^(?:\d+[.)]\s*)?recommendation\s*#?\d*\s*[:.—–-]/i;
const RECOMMENDATION_PREFIX = /^(?:\d+[.)]\s*)?(?:recommendation\s*#?\d*\s*[:.—–-]\s*)?/i;

/** Recommendation sections of a markdown report, in order. */
export function parseMarkdownRecommendations(markdown: string, generatedAt: string, source: string): LegacyRecommendation[] {
  const lines = markdown.split(/\r?\n/);
  const recs: LegacyRecommendation[] = [];
  let inRecommendations = false;
  let recLevel = 0;
  let current: { title: string; fields: Record<string, string>; lists: Record<string, string[]>; text: string[] } | undefined;
  let listKey: string | undefined;
  let currentLevel = 0;

  const flush = () => {
    if (!current) return;
    const f = current.fields;
    const raw: Record<string, unknown> = {
      title: current.title,
      description: [f['description'], current.text.join('\n').trim()].filter((s) => s !== undefined && s !== '').join('\n\n'),
      ...(f['id'] ? { id: f['id'] } : {}),
      priority: f['priority'],
      category: f['category']?.toLowerCase(),
      impact: f['impact']?.toLowerCase(),
      effort: f['effort'],
      implementation: [f['implementation'], ...(current.lists['implementation'] ?? [])].filter((s) => s !== undefined && s !== '').join('\n'),
      acceptanceCriteria: [...(f['acceptanceCriteria'] ? [f['acceptanceCriteria']] : []), ...(current.lists['acceptanceCriteria'] ?? [])],
      constraints: {
        do: [...(f['do'] ? [f['do']] : []), ...(current.lists['do'] ?? [])],
        dont: [...(f['dont'] ? [f['dont']] : []), ...(current.lists['dont'] ?? [])],
      },
    };
    recs.push(normalizeLegacyRecommendation(raw, generatedAt, source));
    current = undefined;
  };

  for (const line of lines) {
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const level = (heading[1] as string).length;
      const text = (heading[2] as string).replace(/^\*\*|\*\*$/g, '');
      if (RECOMMENDATIONS_CONTAINER.test(text)) {
        flush();
        inRecommendations = true;
        recLevel = level;
        continue;
      }
      if (inRecommendations && level <= recLevel) {
        flush();
        inRecommendations = false;
      }
      const label = FIELD_ALIASES[text.replace(/:$/, '').trim().toLowerCase()];
      if (current && label !== undefined && level > currentLevel) {
        listKey = label; // a sub-heading such as "#### Acceptance Criteria"
        continue;
      }
      if (inRecommendations || RECOMMENDATION_HEADING.test(text)) {
        flush();
        current = { title: text.replace(RECOMMENDATION_PREFIX, '').trim() || text, fields: {}, lists: {}, text: [] };
        currentLevel = level;
        listKey = undefined;
      } else {
        flush(); // any other heading ends the section
      }
      continue;
    }
    if (!current) continue;
    const item = /^\s*(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
    const fields = fieldsOf(line);
    if (fields) {
      for (const [k, v] of fields) {
        if (v === '') listKey = k;
        else {
          current.fields[k] = v;
          listKey = k === 'implementation' || k === 'description' ? undefined : listKey;
        }
      }
      if (fields.length === 1 && fields[0]?.[1] !== '') listKey = undefined;
      continue;
    }
    if (item && listKey !== undefined) {
      (current.lists[listKey] ??= []).push((item[1] as string).trim());
      continue;
    }
    if (line.trim() === '') continue;
    if (listKey === 'implementation') (current.lists['implementation'] ??= []).push(line.trim());
    else current.text.push(line.trim());
  }
  flush();
  return recs;
}

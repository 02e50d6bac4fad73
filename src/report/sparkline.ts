/**
 * Small inline SVG sparklines for the HTML report: no scripts, no external assets, coordinates
 * rounded so the markup is byte-identical on rerun. Each chart carries a text alternative.
 */
import { formatNumber } from '../model/evidence-format.js';
import { escapeHtml } from './text.js';

export interface SparklineOptions {
  readonly width?: number;
  readonly height?: number;
  /** upper end of the y axis; default: the largest value (at least 1e-9) */
  readonly max?: number;
  /** accessible description, also shown as the SVG title */
  readonly label: string;
  readonly stroke?: string;
}

/**
 * A polyline over `values` spread evenly across the width. `null` values break the line
 * (no data in that bucket), so gaps are visible rather than interpolated.
 */
export function sparklineSvg(values: readonly (number | null)[], options: SparklineOptions): string {
  const width = options.width ?? 160;
  const height = options.height ?? 32;
  const pad = 2;
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(options.max ?? Math.max(0, ...present), 1e-9);
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  const segments: string[][] = [];
  let current: string[] = [];
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      if (current.length > 0) segments.push(current);
      current = [];
      return;
    }
    const x = pad + i * step;
    const y = height - pad - (Math.min(v, max) / max) * (height - 2 * pad);
    current.push(`${formatNumber(x, 1)},${formatNumber(y, 1)}`);
  });
  if (current.length > 0) segments.push(current);
  const stroke = options.stroke ?? '#1f6feb';
  const shapes = segments.map((points) =>
    points.length === 1
      ? `<circle cx="${points[0]?.split(',')[0]}" cy="${points[0]?.split(',')[1]}" r="1.5" fill="${stroke}"/>`
      : `<polyline fill="none" stroke="${stroke}" stroke-width="1.5" points="${points.join(' ')}"/>`,
  );
  const label = escapeHtml(options.label);
  return (
    `<svg class="spark" role="img" aria-label="${label}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${label}</title><rect x="0" y="0" width="${width}" height="${height}" fill="#f6f8fa"/>${shapes.join('')}</svg>`
  );
}

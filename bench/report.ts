import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isMissing, judge, ratioOf, Shape, Unit, type Comparison, type Measured, type Missing, type Verdict } from './figures.ts';
import type { Stat } from './stats.ts';

/**
 * The run's output: a block per comparison (every figure with its spread and
 * notes), then one summary table where each skiff figure stands beside its
 * reference, the ratio, the target and how far off it is. The JSON holds the
 * same figures with their raw samples.
 */

const MS_PER_S = 1000;
/** Width of the figure labels in the detail blocks. */
const LABEL_WIDTH = 44;

export function formatValue(unit: Unit, v: number): string {
  if (!Number.isFinite(v)) return '—';
  switch (unit) {
    case Unit.MS:
      if (Math.abs(v) >= MS_PER_S) return `${(v / MS_PER_S).toFixed(2)} s`;
      return `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;
    case Unit.MIB:
      return `${Math.abs(v) < 10 ? v.toFixed(2) : v.toFixed(0)} MiB`;
    case Unit.GB_PER_S:
      return `${v.toFixed(2)} GB/s`;
    case Unit.COUNT:
      return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1);
  }
}

const STAT_NAMES: Partial<Record<Stat, string>> = { median: 'p50', p90: 'p90', p99: 'p99', max: 'max', min: 'min' };

function sideLines(side: Measured | Missing, shape: Shape): string[] {
  const label = `${side.label} `.padEnd(LABEL_WIDTH);
  if (isMissing(side)) return [`  ${label}not measured: ${side.missing}`];
  const s = side.summary;
  const f = (v: number) => formatValue(side.unit, v).padStart(9);
  const spread =
    shape === Shape.LATENCY
      ? `p50 ${f(s.median)}  p90 ${f(s.p90)}  p99 ${f(s.p99)}  max ${f(s.max)}`
      : `${f(s.median)}  (min ${formatValue(side.unit, s.min)}, max ${formatValue(side.unit, s.max)}, IQR ${formatValue(side.unit, s.p25)}–${formatValue(side.unit, s.p75)})`;
  return [`  ${label}${spread}  n=${s.n}`, ...side.notes.map((n) => `  ${' '.repeat(LABEL_WIDTH)}· ${n}`)];
}

function verdicts(c: Comparison): Verdict[] {
  return c.targets.map((t) => judge(c, t, formatValue));
}

export function detailText(comparisons: readonly Comparison[]): string {
  const out: string[] = [];
  for (const c of comparisons) {
    out.push(`▸ ${c.title}`);
    out.push(...sideLines(c.skiff, c.shape));
    for (const ref of c.reference) out.push(...sideLines(ref, c.shape));
    if (!isMissing(c.skiff) && c.reference[0]) {
      const stat: Stat = 'median';
      const ratio = ratioOf(c, stat);
      if (ratio !== null) out.push(`  skiff / ${c.reference[0].label}: ${ratio.toFixed(2)}x (${STAT_NAMES[stat]})`);
    }
    for (const v of verdicts(c)) out.push(`  target ${v.target.text}: ${v.met === false ? 'BEHIND — ' : ''}${v.text}`);
    out.push('');
  }
  return out.join('\n');
}

function statValue(side: Measured | Missing, stat: Stat): string {
  return isMissing(side) ? 'n/a' : formatValue(side.unit, side.summary[stat]);
}

/** One row per target (or one row when there is none), columns padded to the widest cell. */
export function summaryTable(comparisons: readonly Comparison[]): string {
  const rows: string[][] = [['figure', 'stat', 'skiff', 'reference', 'ratio', 'target', 'status']];
  for (const c of comparisons) {
    const ref = c.reference[0];
    const rowsFor: Array<{ stat: Stat; verdict: Verdict | null }> = c.targets.length
      ? verdicts(c).map((v) => ({ stat: v.target.stat, verdict: v }))
      : [{ stat: 'median', verdict: null }];
    for (const { stat, verdict } of rowsFor) {
      const ratio = ratioOf(c, stat);
      let status = '—';
      if (verdict) status = verdict.met === null ? 'not measured' : verdict.met ? 'ok' : `BEHIND: ${verdict.text}`;
      else if (isMissing(c.skiff)) status = 'not measured';
      rows.push([
        c.title,
        STAT_NAMES[stat] ?? stat,
        statValue(c.skiff, stat),
        ref ? `${statValue(ref, stat)} ${ref.label}` : '—',
        ratio === null ? '—' : `${ratio.toFixed(2)}x`,
        verdict ? verdict.target.text : '—',
        status,
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Where skiff is behind, one line each with by how much; empty when nowhere. */
export function behindLines(comparisons: readonly Comparison[]): string[] {
  const lines: string[] = [];
  for (const c of comparisons) {
    for (const v of verdicts(c)) if (v.met === false) lines.push(`${c.title} (${v.target.text}): ${v.text}`);
  }
  return lines;
}

export function verdictsOf(c: Comparison): Verdict[] {
  return verdicts(c);
}

export async function writeJson(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(data, null, 2)}\n`);
}

import { summarize, type Stat, type Summary } from './stats.ts';

/**
 * What a scenario hands to the report: each skiff figure beside the
 * reference measured in the same run, and the targets from DESIGN's "How
 * fast" that judge it. Nothing here holds a number that was not measured.
 */

export const Unit = {
  MS: 'ms',
  MIB: 'MiB',
  COUNT: 'count',
  GB_PER_S: 'GB/s',
} as const;
export type Unit = (typeof Unit)[keyof typeof Unit];

/** How a figure is read: repeated runs (median and range) or a latency distribution (p50/p90/p99/max). */
export const Shape = {
  RUNS: 'runs',
  LATENCY: 'latency',
} as const;
export type Shape = (typeof Shape)[keyof typeof Shape];

export interface Measured {
  label: string;
  unit: Unit;
  samples: number[];
  summary: Summary;
  /** Context printed under the figure (phase split, what the timing includes). */
  notes: string[];
  /** Anything else measured alongside, kept in the JSON. */
  extra?: Record<string, unknown>;
}

/** A skiff figure that could not be taken in this run, and why. */
export interface Missing {
  label: string;
  missing: string;
}

export const TargetKind = {
  /** skiff's stat divided by the first reference's same stat is at most `value`. */
  RATIO: 'ratio',
  AT_MOST: 'at-most',
  AT_LEAST: 'at-least',
} as const;
export type TargetKind = (typeof TargetKind)[keyof typeof TargetKind];

export interface Target {
  kind: TargetKind;
  stat: Stat;
  value: number;
  /** How DESIGN states it, e.g. "≤ 1.0x rsync". */
  text: string;
}

export interface Comparison {
  id: string;
  title: string;
  shape: Shape;
  skiff: Measured | Missing;
  /** The first reference is the one ratios are taken against. */
  reference: Measured[];
  targets: Target[];
}

export interface Verdict {
  target: Target;
  /** The judged value: a ratio for RATIO targets, else skiff's stat. */
  value: number | null;
  met: boolean | null;
  /** One line: "1.32x, behind by 32% (+0.70 s)"; "not measured" when skiff is missing. */
  text: string;
}

export function measured(label: string, unit: Unit, samples: number[], notes: string[] = [], extra?: Record<string, unknown>): Measured {
  return { label, unit, samples, summary: summarize(samples), notes, extra };
}

export function isMissing(side: Measured | Missing): side is Missing {
  return 'missing' in side;
}

export function ratioOf(comparison: Comparison, stat: Stat): number | null {
  const ref = comparison.reference[0];
  if (isMissing(comparison.skiff) || !ref) return null;
  const base = ref.summary[stat];
  return base > 0 ? comparison.skiff.summary[stat] / base : null;
}

export function judge(comparison: Comparison, target: Target, format: (unit: Unit, v: number) => string): Verdict {
  const skiff = comparison.skiff;
  if (isMissing(skiff)) return { target, value: null, met: null, text: 'not measured' };
  const own = skiff.summary[target.stat];
  if (target.kind === TargetKind.RATIO) {
    const ratio = ratioOf(comparison, target.stat);
    if (ratio === null) return { target, value: null, met: null, text: 'no reference' };
    const met = ratio <= target.value;
    const base = comparison.reference[0].summary[target.stat];
    const gap = own - target.value * base;
    const text = met
      ? `${ratio.toFixed(2)}x, within target`
      : `${ratio.toFixed(2)}x, behind by ${((ratio / target.value - 1) * 100).toFixed(0)}% (+${format(skiff.unit, gap)} over the target)`;
    return { target, value: ratio, met, text };
  }
  const met = target.kind === TargetKind.AT_MOST ? own <= target.value : own >= target.value;
  const text = met
    ? `${format(skiff.unit, own)}, within target`
    : `${format(skiff.unit, own)}, behind by ${format(skiff.unit, Math.abs(own - target.value))} (${(own / target.value).toFixed(2)}x the target)`;
  return { target, value: own, met, text };
}

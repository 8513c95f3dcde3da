/**
 * What the child-process benchmarks share: memory read from /proc, running one measurement in a child process
 * (so each side's peak RSS is its own) under a memory watchdog, medians and formatting.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type BenchPrecision = 'f32' | 'int8' | 'int4';
export const BENCH_PRECISIONS: readonly BenchPrecision[] = ['f32', 'int8', 'int4'];

/** Resident memory of this process, in bytes. */
export interface MemorySnapshot {
  /** process.resourceUsage().maxRSS: the peak so far. */
  maxRss: number;
  /** /proc/self/status */
  vmRss: number;
  rssAnon: number;
  rssFile: number;
  /** /proc/self/smaps_rollup: proportional set size, and its anonymous / file-backed parts. */
  pss: number;
  pssAnon: number;
  pssFile: number;
}

function procKb(file: string, key: string): number {
  try {
    const m = fs.readFileSync(file, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export function memorySnapshot(): MemorySnapshot {
  return {
    maxRss: process.resourceUsage().maxRSS * 1024,
    vmRss: procKb('/proc/self/status', 'VmRSS'),
    rssAnon: procKb('/proc/self/status', 'RssAnon'),
    rssFile: procKb('/proc/self/status', 'RssFile'),
    pss: procKb('/proc/self/smaps_rollup', 'Pss'),
    pssAnon: procKb('/proc/self/smaps_rollup', 'Pss_Anon'),
    pssFile: procKb('/proc/self/smaps_rollup', 'Pss_File'),
  };
}

export function memAvailable(): number {
  return procKb('/proc/meminfo', 'MemAvailable');
}

export const gb = (bytes: number) => (bytes / 1e9).toFixed(2);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The prompt both sides run: 128 deterministic token ids spread over the vocabulary (as bench/engine.ts). */
export function benchPrompt(length: number, vocab: number): number[] {
  return Array.from({ length }, (_, i) => (i * 7919) % vocab);
}

/**
 * Whether this engine's ModelRunner.open takes a `precision` option yet (issue 9 item 1, landing separately):
 * read from its source, so the bench compiles and runs against either.
 */
export function engineHasPrecision(): boolean {
  const source = fs.readFileSync(path.join(benchDir, '..', 'engine', 'runtime', 'model-runner.ts'), 'utf8');
  const options = source.match(/interface RunnerOptions[^}]*}/s)?.[0] ?? '';
  return /\bprecision\??\s*:/.test(options);
}

export const benchDir = path.dirname(fileURLToPath(import.meta.url));

export interface ChildOutcome<T> {
  /** The child's RESULT line, parsed; null when it printed none. */
  result: T | null;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Highest VmRSS the watchdog saw (sampled every 100 ms). */
  peakSampledRss: number;
  /** Why the watchdog killed the child, if it did. */
  killed: string | null;
  stderrTail: string;
  seconds: number;
  /**
   * CPU seconds that processes other than the child used while it ran (the machine is shared: on 2 cores, another
   * process's work slows a 2-thread run far more than its share, as both runtimes' threads spin at barriers).
   */
  otherCpuSeconds: number;
}

export interface ChildLimits {
  /** Kill the child when its RSS passes this. */
  maxRss: number;
  /** Kill the child when the machine's MemAvailable falls below this. */
  minAvailable: number;
}

export const DEFAULT_LIMITS: ChildLimits = { maxRss: 21e9, minAvailable: 1.2e9 };

/**
 * Runs `bench/child.ts <args>` in its own node process (tsx loader) and returns the JSON it printed on a line
 * starting with "RESULT ". Lines starting with "LOG " are echoed, indented. A watchdog samples the child's RSS and
 * the machine's available memory and kills the child before it can take the machine down.
 */
export function runChild<T>(args: string[], limits: ChildLimits = DEFAULT_LIMITS, env: NodeJS.ProcessEnv = {}): Promise<ChildOutcome<T>> {
  const t0 = performance.now();
  const busy0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  let childCpu = 0;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, 'child.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let result: T | null = null;
    let stderr = '';
    let peak = 0;
    let killed: string | null = null;
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7)) as T;
        else if (line.startsWith('LOG ')) console.log(`    ${line.slice(4)}`);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    const watchdog = setInterval(() => {
      const rss = procKb(`/proc/${child.pid}/status`, 'VmRSS');
      childCpu = Math.max(childCpu, processCpuSeconds(child.pid!));
      if (Number.isFinite(rss)) peak = Math.max(peak, rss);
      const available = memAvailable();
      if (killed) return;
      if (rss > limits.maxRss) killed = `RSS ${gb(rss)} GB passed the bench's limit of ${gb(limits.maxRss)} GB`;
      else if (available < limits.minAvailable) killed = `machine down to ${gb(available)} GB available (child RSS ${gb(rss)} GB)`;
      if (killed) child.kill('SIGKILL');
    }, 100);
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      const self = process.cpuUsage(self0);
      const otherCpuSeconds = Math.max(0, machineBusySeconds() - busy0 - childCpu - (self.user + self.system) / 1e6);
      resolve({
        result, code, signal, peakSampledRss: peak, killed, stderrTail: stderr.trim().split('\n').slice(-12).join('\n'),
        seconds: (performance.now() - t0) / 1000, otherCpuSeconds,
      });
    });
  });
}

const CLOCK_TICKS = 100;

/** CPU seconds all cores have spent busy since boot (/proc/stat). */
function machineBusySeconds(): number {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS;
}

/** CPU seconds a process (and its waited-for children) has used; 0 once it is gone. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields 14–17 of stat (utime, stime, cutime, cstime) are 11–14 after the comm field
    return (f[11] + f[12] + f[13] + f[14]) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** One line on how much else ran on the machine during a child's run. */
export function describeOthers(outcome: ChildOutcome<unknown>): string {
  const share = outcome.otherCpuSeconds / outcome.seconds;
  return `other processes used ${outcome.otherCpuSeconds.toFixed(0)} CPU-s in ${outcome.seconds.toFixed(0)} s (${(share * 100).toFixed(0)} % of a core)`;
}

/** One line on why a child gave no result. */
export function childFailure(outcome: ChildOutcome<unknown>): string {
  if (outcome.killed) return `killed by the bench watchdog: ${outcome.killed}`;
  const last = outcome.stderrTail.split('\n').filter((l) => l.trim()).slice(-3).join(' | ');
  return `child exited ${outcome.code ?? outcome.signal}: ${last || '(no output)'}`;
}

/** Timings of one generation: prompt (one step) then greedy decode steps. */
export interface GenerationFigures {
  prefill: number;
  decode: number;
}

/** What a measurement child reports. */
export interface RunReport {
  side: 'ours' | 'llama.cpp';
  precision: string;
  threads: number;
  /** Seconds to open / load (ours: graph build when the cache was cold, plus session creation). */
  loadSeconds: number;
  fromCache?: boolean;
  /** Median of the rounds, tokens per second. */
  prefill: number;
  decode: number;
  rounds: GenerationFigures[];
  /** Greedy ids of the first round (cross-check between the sides at f32). */
  tokens: number[];
  afterLoad: MemorySnapshot;
  afterRun: MemorySnapshot;
  /** Anything worth printing beside the figures. */
  notes: string[];
  /** Ours: the precision the runner resolved, and its memory guard's estimate in bytes (engines that have them). */
  enginePrecision?: string;
  estimate?: number;
}

export interface RefusedReport {
  refused: string;
  afterLoad?: MemorySnapshot;
}

export interface BuildReport {
  enginePrecision?: string;
  estimate?: number;
  coldOpenSeconds: number;
  fromCache: boolean;
  /** maxRSS when the last layer's build progress arrived, and after the open returned. */
  maxRssAtLastLayer: number;
  afterOpen: MemorySnapshot;
  graphBytes: number;
}

export function isRefused(r: unknown): r is RefusedReport {
  return typeof r === 'object' && r !== null && 'refused' in r;
}

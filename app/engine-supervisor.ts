import type { ClientMessage, EngineMessage, ProtocolError } from '../engine/protocol/messages.ts';
import type { EngineEvents, EventName } from '../engine/protocol/events.ts';
import type { Method, MethodParams, MethodResult } from '../engine/protocol/methods.ts';
import type { EngineStatus } from './ipc-channels.ts';
import { RestartPolicy } from './restart-policy.ts';

/** How an engine process ended. */
export interface EngineExit {
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started at all (e.g. the Node binary is missing). */
  startError?: string;
  /** Last lines the process wrote to stderr, for the error dialog. */
  stderrTail: string[];
}

export interface EngineChildHandlers {
  /** The process is running. */
  spawned(): void;
  message(message: unknown): void;
  /** Called once, whether the process ran and exited or never started. */
  exited(exit: EngineExit): void;
}

/** A started engine process as the supervisor uses it. */
export interface EngineChild {
  send(message: ClientMessage): void;
  kill(): void;
}

export type SpawnEngine = (handlers: EngineChildHandlers) => EngineChild;

export interface SupervisorHooks {
  /** An engine message for the renderer, with the renderer's own request id; answers to main's requests are kept back. */
  message(message: EngineMessage): void;
  status(status: EngineStatus): void;
  /** Restarting stopped after repeated quick crashes; call retry() to start again. */
  gaveUp(exit: EngineExit, crashesInARow: number): void;
}

export interface SupervisorOptions {
  spawn: SpawnEngine;
  policy?: RestartPolicy;
  now?: () => number;
  /** Runs fn after ms; returns a function that cancels it. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

interface OwnRequest {
  method: Method;
  resolve(result: unknown): void;
  reject(error: Error): void;
  onEvent?: (event: EventName, data: EngineEvents[EventName]) => void;
}

function scheduleWithTimer(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
}

export function describeExit(exit: EngineExit): string {
  if (exit.startError !== undefined) return `could not start: ${exit.startError}`;
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

function failed(message: string): ProtocolError {
  return { code: 'failed', message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Keeps one engine process running for the window: relays messages both ways, answers requests the engine can no
 * longer answer when it dies, and restarts it with backoff. Recording is one SQLite transaction per prompt, so a
 * crash loses at most the prompt in flight and an interrupted probe run resumes.
 *
 * Requests get engine-side ids of the supervisor's own, mapped back on the way out: main's requests cannot collide
 * with the renderer's, and a reloaded page, whose ids start again, never receives answers meant for the page before.
 */
export class EngineSupervisor {
  private child: EngineChild | null = null;
  private startedAt = 0;
  private status: EngineStatus = 'disconnected';
  private cancelRestart: (() => void) | null = null;
  private stopped = false;
  private nextEngineId = 1;
  /** Renderer requests sent to the current process and not yet answered: engine id → renderer id, and back. */
  private readonly clientIds = new Map<number, number>();
  private readonly engineIds = new Map<number, number>();
  private readonly own = new Map<number, OwnRequest>();
  private readonly policy: RestartPolicy;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void, ms: number) => () => void;

  constructor(private readonly options: SupervisorOptions, private readonly hooks: SupervisorHooks) {
    this.policy = options.policy ?? new RestartPolicy();
    this.now = options.now ?? Date.now;
    this.schedule = options.schedule ?? scheduleWithTimer;
  }

  get currentStatus(): EngineStatus {
    return this.status;
  }

  start(): void {
    if (this.child !== null) return;
    this.stopped = false;
    this.launch();
  }

  /** After gaveUp: forget the crashes and start again. */
  retry(): void {
    this.policy.reset();
    if (this.child === null && this.cancelRestart === null) this.start();
  }

  /** A message from the renderer. While no engine runs, requests are answered with an error at once. */
  send(message: ClientMessage): void {
    if ('cancel' in message) {
      const engineId = this.engineIds.get(message.cancel);
      if (engineId !== undefined) this.child?.send({ cancel: engineId });
      return;
    }
    if (this.child === null) {
      this.hooks.message({ id: message.id, ok: false, error: failed('the engine is not running; it is being restarted') });
      return;
    }
    const engineId = this.nextEngineId++;
    this.clientIds.set(engineId, message.id);
    this.engineIds.set(message.id, engineId);
    this.child.send({ ...message, id: engineId });
  }

  /** The page went away (reload, renderer crash): cancel its requests and drop whatever they still produce. */
  clientGone(): void {
    for (const engineId of this.clientIds.keys()) this.child?.send({ cancel: engineId });
    this.forgetClient();
  }

  /** A request of main's own; engine errors reject with the method name in front. */
  request<M extends Method>(
    method: M,
    params: MethodParams<M>,
    onEvent?: OwnRequest['onEvent'],
  ): Promise<MethodResult<M>> {
    return new Promise((resolve, reject) => {
      if (this.child === null) {
        reject(new Error(`${method}: the engine is not running`));
        return;
      }
      const id = this.nextEngineId++;
      this.own.set(id, { method, resolve: resolve as (result: unknown) => void, reject, onEvent });
      this.child.send({ id, method, params });
    });
  }

  /** Ends the engine for good (the app is quitting). */
  stop(): void {
    this.stopped = true;
    this.cancelRestart?.();
    this.cancelRestart = null;
    const child = this.child;
    this.child = null;
    this.forgetClient();
    this.rejectOwn('the app is quitting');
    child?.kill();
  }

  private launch(): void {
    this.cancelRestart = null;
    this.startedAt = this.now();
    let current: EngineChild | null = null;
    const isCurrent = () => current !== null && this.child === current;
    current = this.options.spawn({
      spawned: () => {
        if (!isCurrent()) return;
        this.startedAt = this.now();
        this.setStatus('connected');
      },
      message: (message) => {
        if (isCurrent()) this.fromEngine(message);
      },
      exited: (exit) => {
        if (isCurrent()) this.onExit(exit);
      },
    });
    this.child = current;
  }

  private fromEngine(message: unknown): void {
    if (!isObject(message)) return;
    const isResponse = 'ok' in message;
    if (typeof message.id !== 'number') {
      if (!isResponse) this.hooks.message(message as EngineMessage);
      return;
    }
    const own = this.own.get(message.id);
    if (own !== undefined) {
      this.fromEngineToMain(message.id, own, message);
      return;
    }
    const clientId = this.clientIds.get(message.id);
    if (clientId === undefined) return;
    if (isResponse) this.forget(message.id);
    this.hooks.message({ ...message, id: clientId } as EngineMessage);
  }

  private fromEngineToMain(id: number, request: OwnRequest, message: Record<string, unknown>): void {
    if (!('ok' in message)) {
      request.onEvent?.(message.event as EventName, message.data as EngineEvents[EventName]);
      return;
    }
    this.own.delete(id);
    const reply = message as { ok: boolean; result?: unknown; error?: Partial<ProtocolError> };
    if (reply.ok) request.resolve(reply.result);
    else request.reject(new Error(`${request.method}: ${reply.error?.message ?? 'failed'}`));
  }

  private forget(engineId: number): void {
    const clientId = this.clientIds.get(engineId);
    this.clientIds.delete(engineId);
    if (clientId !== undefined && this.engineIds.get(clientId) === engineId) this.engineIds.delete(clientId);
  }

  private forgetClient(): void {
    this.clientIds.clear();
    this.engineIds.clear();
  }

  private onExit(exit: EngineExit): void {
    this.child = null;
    const reason = `the engine process stopped (${describeExit(exit)}) before answering`;
    for (const id of this.clientIds.values()) this.hooks.message({ id, ok: false, error: failed(reason) });
    this.forgetClient();
    this.rejectOwn(reason);
    // Straight to what happens next: a passing 'disconnected' would tell the window nothing restarts the engine.
    const decision = this.policy.onCrash(this.now() - this.startedAt);
    if (decision.action === 'give-up') {
      this.setStatus('disconnected');
      this.hooks.gaveUp(exit, decision.crashesInARow);
      return;
    }
    this.setStatus('restarting');
    this.cancelRestart = this.schedule(() => this.launch(), decision.delayMs);
  }

  private rejectOwn(reason: string): void {
    for (const request of this.own.values()) request.reject(new Error(`${request.method}: ${reason}`));
    this.own.clear();
  }

  private setStatus(status: EngineStatus): void {
    if (this.status === status || this.stopped) return;
    this.status = status;
    this.hooks.status(status);
  }
}

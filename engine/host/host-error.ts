import type { ProtocolError } from '../protocol/messages.ts';

/** An error that crosses the protocol with its own code; anything else thrown by a job is reported as 'failed'. */
export class HostError extends Error {
  constructor(readonly code: ProtocolError['code'], message: string) {
    super(message);
  }
}

export const cancelled = (): HostError => new HostError('cancelled', 'cancelled');

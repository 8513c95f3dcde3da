import type { ReactNode } from 'react';
import type { ConnectionLoss } from '../host/engine-client.ts';
import { useHost } from '../host/use-host.ts';
import { useApp } from '../state/use-app.ts';

const INTERRUPTED = 'Jobs that were running were interrupted (a probe run resumes where it stopped); actions are disabled until the engine is back.';

/**
 * Shown while the engine is not connected, saying what happened and what happens next — only what is true: Electron's
 * supervisor restarts its engine; in browser mode nothing restarts `mote serve` but the user, and the page reconnects
 * when it is back. The store re-fetches everything once connected.
 */
export function EngineBanner() {
  const { status, everConnected, loss } = useApp((s) => s.engine);
  const host = useHost();
  if (status === 'connected') return null;
  const noToken = host.kind === 'browser' && !new URLSearchParams(window.location.search).get('token');
  let text: ReactNode;
  if (!everConnected) {
    text = noToken
      ? <>Connecting to the engine… This address has no <code>?token=</code>: open the link <code>mote serve</code> printed.</>
      : <>Connecting to the engine…</>;
  } else if (host.kind === 'browser') {
    text = loss ? browserLoss(loss) : <><strong>Lost the connection to the engine.</strong> Reconnecting… {INTERRUPTED}</>;
  } else if (status === 'restarting') {
    text = <><strong>The engine stopped; MoTE Studio is restarting it…</strong> {INTERRUPTED} The view reloads once it is back.</>;
  } else {
    text = <><strong>The engine stopped and is not being restarted</strong> (it stopped repeatedly soon after starting). Choose Try Again in the dialog, or restart MoTE Studio. {INTERRUPTED}</>;
  }
  return (
    <div className={everConnected ? 'banner banner-warn' : 'banner'} role="status" data-testid="engine-banner" data-status={status}
      data-cause={loss ? (loss.tokenRefused ? 'token-refused' : loss.cause) : undefined}>
      {text}
    </div>
  );
}

function browserLoss(loss: ConnectionLoss): ReactNode {
  const port = window.location.port;
  if (loss.tokenRefused) {
    return <>
      <strong><code>mote serve</code> is running again at this address, with a new access token.</strong> {INTERRUPTED}
      <div>This page cannot reconnect with its old token: open the URL the new server printed. Your session (selection, mask, prompt) is saved and comes back.</div>
    </>;
  }
  const what = loss.cause === 'server-stopped'
    ? <><strong><code>mote serve</code> has stopped</strong> (it closed the connection).</>
    : <><strong>Lost the connection to <code>mote serve</code></strong>: it ended without closing it (killed or crashed; close code {loss.code}).</>;
  const tries = loss.attempts > 0 ? ` (${loss.attempts} ${loss.attempts === 1 ? 'attempt' : 'attempts'} so far)` : '';
  return <>
    {what} {INTERRUPTED}
    <div>Nothing restarts it by itself. This page reconnects when it answers at port {port} again{tries}: start it with <code className="nowrap">--port {port}</code> and the same <code>MOTE_SERVE_TOKEN</code>, or open the URL a new one prints.</div>
  </>;
}

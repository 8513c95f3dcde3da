import { useHost } from '../host/use-host.ts';
import { useApp } from '../state/use-app.ts';

/** Shown while the engine is not connected; the store re-fetches everything when it is back. */
export function EngineBanner() {
  const { status, everConnected } = useApp((s) => s.engine);
  const host = useHost();
  if (status === 'connected') return null;
  const noToken = host.kind === 'browser' && !new URLSearchParams(window.location.search).get('token');
  let text;
  if (!everConnected) {
    text = noToken
      ? <>Connecting to the engine… This address has no <code>?token=</code>: open the link <code>mote serve</code> printed.</>
      : <>Connecting to the engine…</>;
  } else if (status === 'disconnected' && host.kind === 'electron') {
    text = <><strong>Engine stopped</strong> and was not restarted. Restart MoTE Studio; jobs that were running were interrupted.</>;
  } else {
    text = <><strong>Engine stopped — restarting…</strong> Jobs that were running were interrupted; the view reloads once the engine is back.</>;
  }
  return (
    <div className={everConnected ? 'banner banner-warn' : 'banner'} role="status" data-testid="engine-banner" data-status={status}>
      {text}
    </div>
  );
}

import { useActions, useApp } from '../state/use-app.ts';

/** What restoring the saved session found wrong (an unreadable session, a mask that does not fit), until dismissed. */
export function SessionNotice() {
  const notice = useApp((s) => s.session.notice);
  const { dismissSessionNotice } = useActions();
  if (!notice) return null;
  return (
    <div className="banner banner-warn" role="status" data-testid="session-notice">
      {notice} <button type="button" className="link" onClick={dismissSessionNotice} data-testid="session-notice-dismiss">dismiss</button>
    </div>
  );
}

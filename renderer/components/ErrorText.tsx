/** An error as the engine worded it, whole (file names and positions matter), or nothing. */
export function ErrorText({ error, testId }: { error: string | null | undefined; testId?: string }) {
  return error ? <pre className="error" role="alert" data-testid={testId}>{error}</pre> : null;
}

import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { ApiError } from './api';

export function errorText(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : 'Something went wrong. Try again.';
}

/** Loads data for a screen: loading, error and reload in one place. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const reload = useCallback(() => {
    setLoading(true);
    setError(undefined);
    load()
      .then((d) => setData(d))
      .catch((e) => setError(errorText(e)))
      .finally(() => setLoading(false));
    // biome-ignore lint/correctness/useExhaustiveDependencies: callers pass their own deps
  }, deps);
  useEffect(reload, [reload]);
  return { data, error, loading, reload };
}

export function Notice({
  kind = 'error',
  children,
}: {
  kind?: 'error' | 'ok' | 'info';
  children: ReactNode;
}) {
  if (!children) return null;
  return (
    <p className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-busy="true">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function Field(props: {
  label: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  type?: string;
  autoComplete?: string;
  required?: boolean;
  hint?: string;
  inputMode?: 'numeric' | 'text' | 'email';
}) {
  const id = `f-${props.name}`;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        autoComplete={props.autoComplete}
        required={props.required}
        inputMode={props.inputMode}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.hint ? (
        <small id={`${id}-hint`} className="muted">
          {props.hint}
        </small>
      ) : null}
    </div>
  );
}

/** A form whose submit shows progress and turns errors into a sentence next to it. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [ok, setOk] = useState<string | undefined>();
  async function run(fn: () => Promise<unknown>) {
    setBusy(true);
    setError(undefined);
    setOk(undefined);
    try {
      const message = await fn();
      if (typeof message === 'string') setOk(message);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, ok, run, setError };
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

export function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="secondary"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => setDone(true));
      }}
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

export type List<T> = { data: T[]; has_more: boolean };

/** What useLoad answers, as the screens render it. */
type LoadState = { data?: unknown; error?: string; loading: boolean };

/** Loading, then the error, then (given `empty`) the empty sentence for a list with no rows, else the content. */
export function Loaded({
  state,
  what,
  empty,
  children,
}: {
  state: LoadState;
  what: string;
  empty?: ReactNode;
  children: ReactNode;
}) {
  if (state.loading) return <Loading what={what} />;
  if (state.error) return <Notice>{state.error}</Notice>;
  if (empty !== undefined && (state.data as List<unknown> | undefined)?.data.length === 0)
    return <Empty>{empty}</Empty>;
  return <>{children}</>;
}

/** A table with one header row (an empty string is a blank header cell). */
export function Table({ head, children }: { head: string[]; children: ReactNode }) {
  return (
    <table>
      <thead>
        <tr>
          {head.map((h) => (
            <th key={h}>{h || null}</th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** The error and the success sentence of a useAction form. */
export function Outcome({
  action,
  okKind = 'ok',
}: {
  action: { error?: string; ok?: string };
  okKind?: 'ok' | 'info';
}) {
  return (
    <>
      <Notice>{action.error}</Notice>
      <Notice kind={okKind}>{action.ok}</Notice>
    </>
  );
}

/** A button that runs a useAction step. */
export function RunButton({
  action,
  fn,
  className = 'secondary',
  children,
}: {
  action: { run: (fn: () => Promise<unknown>) => Promise<void> };
  fn: () => Promise<unknown>;
  className?: string;
  children: ReactNode;
}) {
  return (
    <button type="button" className={className} onClick={() => void action.run(fn)}>
      {children}
    </button>
  );
}

/** A form whose submit runs a useAction step; its button is disabled while the step runs (or when `disabled`). */
export function RunForm({
  action,
  fn,
  submit,
  className,
  disabled,
  children,
}: {
  action: { busy: boolean; run: (fn: () => Promise<unknown>) => Promise<void> };
  fn: () => Promise<unknown>;
  submit: ReactNode;
  className?: string;
  disabled?: boolean;
  children: ReactNode;
}) {
  return (
    <form
      className={className}
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(fn);
      }}
    >
      {children}
      <button type="submit" disabled={action.busy || disabled}>
        {submit}
      </button>
    </form>
  );
}

import { type FormEvent, useEffect, useState } from 'react';
import { api, setCsrf } from './api';
import { Field, Notice, RunForm, useAction } from './ui';

export type Account = {
  id: string;
  email: string;
  role: 'owner' | 'admin' | 'developer' | 'viewer';
  org_id: string;
  mfa_enabled: boolean;
  mfa_required: boolean;
  mfa_pending: boolean;
  recovery_codes_left: number;
};

type SessionAnswer = { csrf_token: string; account: Account };

export function SignIn({ onSignedIn, notice }: { onSignedIn: (a: Account) => void; notice?: string }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needCode, setNeedCode] = useState(false);
  const a = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void a.run(async () => {
      try {
        const res = await api<SessionAnswer>('POST', '/console/api/sign-in', {
          email,
          password,
          ...(code ? { code } : {}),
        });
        setCsrf(res.csrf_token);
        onSignedIn(res.account);
      } catch (err) {
        if ((err as { code?: string }).code === 'mfa_code_required') {
          setNeedCode(true);
          return;
        }
        throw err;
      }
    });
  };
  return (
    <main className="narrow">
      <h1>Sign in to Layers</h1>
      <Notice kind="info">{notice}</Notice>
      <form onSubmit={submit}>
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          value={email}
          onChange={setEmail}
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
          required
        />
        {needCode ? (
          <Field
            label="Code from your authenticator app (or a recovery code)"
            name="code"
            autoComplete="one-time-code"
            inputMode="text"
            value={code}
            onChange={setCode}
            required
          />
        ) : null}
        <Notice>{a.error}</Notice>
        <button type="submit" disabled={a.busy}>
          {a.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="muted">New here? Open the invitation link you were sent.</p>
    </main>
  );
}

export function AcceptInvitation({ token, onSignedIn }: { token: string; onSignedIn: (a: Account) => void }) {
  const [info, setInfo] = useState<{ email: string; role: string; org_name: string } | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [password, setPassword] = useState('');
  const a = useAction();
  useEffect(() => {
    api('POST', '/console/api/invitation-lookup', { token })
      .then(setInfo)
      .catch((e) => setProblem(e.message));
  }, [token]);
  if (problem)
    return (
      <main className="narrow">
        <h1>Invitation</h1>
        <Notice>{problem}</Notice>
        <a href="#/">Go to sign-in</a>
      </main>
    );
  if (!info) return <main className="narrow">Checking your invitation…</main>;
  return (
    <main className="narrow">
      <h1>Join {info.org_name} on Layers</h1>
      <p>
        You were invited as <strong>{info.role}</strong> with the email <strong>{info.email}</strong>.
      </p>
      <RunForm
        action={a}
        submit={a.busy ? 'Creating your account…' : 'Create account'}
        fn={async () => {
          const res = await api<SessionAnswer>('POST', '/console/api/sign-up', { token, password });
          setCsrf(res.csrf_token);
          window.location.hash = '#/account/mfa';
          onSignedIn(res.account);
        }}
      >
        <Field
          label="Choose a password"
          name="new-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
          hint="At least 12 characters. A few unrelated words work well; common passwords are refused."
          required
        />
        <Notice>{a.error}</Notice>
      </RunForm>
    </main>
  );
}

/** TOTP enrolment: password again, the secret for the app, one code to confirm, recovery codes once. */
export function MfaSetup({ account, onDone }: { account: Account; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const [setup, setSetup] = useState<{ secret: string; otpauth_uri: string } | undefined>();
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | undefined>();
  const a = useAction();
  if (account.mfa_enabled && !codes) return <Notice kind="ok">Two-factor authentication is on.</Notice>;
  if (codes)
    return (
      <section>
        <h2>Two-factor authentication is on</h2>
        <p>
          Keep these recovery codes somewhere safe. Each works once if you lose your phone. They are shown
          only now.
        </p>
        <ul className="codes" aria-label="Recovery codes">
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <button type="button" onClick={onDone}>
          I have saved them
        </button>
      </section>
    );
  return (
    <section>
      <h2>Set up two-factor authentication</h2>
      {account.mfa_pending ? (
        <Notice kind="info">Your organisation requires two-factor authentication before you continue.</Notice>
      ) : null}
      {!setup ? (
        <RunForm
          action={a}
          submit="Continue"
          fn={async () => setSetup(await api('POST', '/console/api/me/mfa/setup', { password }))}
        >
          <Field
            label="Your password (to confirm it is you)"
            name="mfa-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={setPassword}
            required
          />
          <Notice>{a.error}</Notice>
        </RunForm>
      ) : (
        <RunForm
          action={a}
          submit="Turn on"
          fn={async () => {
            const res = await api<{ recovery_codes: string[] }>('POST', '/console/api/me/mfa/confirm', {
              code,
            });
            setCodes(res.recovery_codes);
          }}
        >
          <p>Add this key to your authenticator app (choose "enter a setup key"; time-based, 6 digits):</p>
          <p>
            <code className="secret" data-testid="totp-secret">
              {setup.secret}
            </code>
          </p>
          <p className="muted small">
            Or open <a href={setup.otpauth_uri}>this link</a> on the phone that has the app.
          </p>
          <Field
            label="The 6-digit code the app shows"
            name="totp"
            autoComplete="one-time-code"
            inputMode="numeric"
            value={code}
            onChange={setCode}
            required
          />
          <Notice>{a.error}</Notice>
        </RunForm>
      )}
    </section>
  );
}

import { StrictMode, useCallback, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, setCsrf, whenSignedOut } from './api';
import { AcceptInvitation, type Account, MfaSetup, SignIn } from './auth-screens';
import { ApiKeys, AuditLog, DataSubjects, Projects, Webhooks } from './data-screens';
import { Dpa, Members, MyAccount, Retention, Subprocessors } from './org-screens';
import './styles.css';

const NAV = [
  ['projects', 'Projects'],
  ['keys', 'API keys'],
  ['webhooks', 'Webhooks'],
  ['audit', 'Audit log'],
  ['subjects', 'Data subjects'],
  ['retention', 'Retention'],
  ['subprocessors', 'Sub-processors'],
  ['dpa', 'DPA'],
  ['members', 'Members'],
  ['account', 'My account'],
] as const;

function useHash() {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const on = () => setHash(window.location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#\/?/, '');
}

function App() {
  const route = useHash();
  const [account, setAccount] = useState<Account | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>();
  const mainRef = useRef<HTMLElement>(null);
  const refresh = useCallback(() => {
    api<{ csrf_token: string; account: Account }>('GET', '/console/api/session')
      .then((r) => {
        setCsrf(r.csrf_token);
        setAccount(r.account);
      })
      .catch(() => setAccount(null));
  }, []);
  useEffect(() => {
    whenSignedOut((message) => {
      setCsrf('');
      setAccount(null);
      setNotice(message);
    });
    refresh();
  }, [refresh]);

  const page = route.split('/')[0] || 'projects';
  // A new screen takes the keyboard focus (screen readers announce it; Tab continues from there).
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every screen change
  useEffect(() => {
    mainRef.current?.focus();
  }, [page]);

  if (route.startsWith('invitation/'))
    return (
      <AcceptInvitation
        token={route.slice('invitation/'.length)}
        onSignedIn={(a) => {
          setAccount(a);
        }}
      />
    );
  if (account === undefined) return <main className="narrow">Loading…</main>;
  if (account === null)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(a) => {
          setNotice(undefined);
          setAccount(a);
          if (!route) window.location.hash = '#/projects';
        }}
      />
    );

  const body =
    account.mfa_pending || route === 'account/mfa' ? (
      <MfaSetup
        account={account}
        onDone={() => {
          window.location.hash = '#/projects';
          refresh();
        }}
      />
    ) : page === 'keys' ? (
      <ApiKeys account={account} />
    ) : page === 'webhooks' ? (
      <Webhooks account={account} />
    ) : page === 'audit' ? (
      <AuditLog />
    ) : page === 'subjects' ? (
      <DataSubjects />
    ) : page === 'retention' ? (
      <Retention />
    ) : page === 'subprocessors' ? (
      <Subprocessors />
    ) : page === 'dpa' ? (
      <Dpa account={account} />
    ) : page === 'members' ? (
      <Members account={account} />
    ) : page === 'account' ? (
      <MyAccount
        account={account}
        refresh={refresh}
        signedOut={(m) => {
          setAccount(null);
          setNotice(m);
        }}
      />
    ) : (
      <Projects account={account} />
    );
  return (
    <div className="shell">
      <header>
        <button type="button" className="skip" onClick={() => mainRef.current?.focus()}>
          Skip to content
        </button>
        <a className="brand" href="#/projects">
          Layers
        </a>
        <span className="who">
          {account.email} ({account.role})
        </span>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            void api('POST', '/console/api/sign-out').finally(() => {
              setCsrf('');
              setAccount(null);
              setNotice('You are signed out.');
            });
          }}
        >
          Sign out
        </button>
      </header>
      <nav aria-label="Console">
        {NAV.map(([id, label]) => (
          <a key={id} href={`#/${id}`} aria-current={page === id ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <main ref={mainRef} tabIndex={-1}>
        {body}
      </main>
    </div>
  );
}

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

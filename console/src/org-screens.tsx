// biome-ignore-all lint/suspicious/noExplicitAny: the screens render JSON answers of the API as they come
import { useState } from 'react';
import { api } from './api';
import { type Account, MfaSetup } from './auth-screens';
import {
  Empty,
  Field,
  type List,
  Loaded,
  Loading,
  Notice,
  Outcome,
  RunButton,
  RunForm,
  Table,
  useAction,
  useLoad,
  when,
} from './ui';

export function Retention() {
  const r = useLoad(() => api<any>('GET', '/v1/data-protection/retention'));
  const rows: any[] = r.data?.data ?? r.data?.data_classes ?? (Array.isArray(r.data) ? r.data : []);
  return (
    <section>
      <h1>Retention</h1>
      <Loaded state={r} what="retention">
        <Table head={['Data class', 'Effective retention', 'Set by']}>
          {rows.map((c) => (
            <tr key={c.data_class ?? c.name}>
              <td>{c.title ?? c.data_class ?? c.name}</td>
              <td>{c.retention}</td>
              <td>{c.source === 'contract' ? 'your contract' : 'default'}</td>
            </tr>
          ))}
        </Table>
      </Loaded>
    </section>
  );
}

export function Subprocessors() {
  const subs = useLoad(() => api<any>('GET', '/v1/subprocessors'));
  const egress = useLoad(() => api<List<any>>('GET', '/v1/data-protection/egress'));
  const list: any[] = subs.data?.data ?? [];
  const days = new Map<string, Map<string, number>>();
  for (const row of egress.data?.data ?? []) {
    const d = days.get(row.date) ?? new Map();
    d.set(row.vendor, (d.get(row.vendor) ?? 0) + row.requests);
    days.set(row.date, d);
  }
  const max = Math.max(1, ...[...days.values()].flatMap((d) => [...d.values()]));
  const vendors = [...new Set((egress.data?.data ?? []).map((r) => r.vendor))];
  return (
    <section>
      <h1>Sub-processors</h1>
      <Loaded state={subs} what="sub-processors">
        <Table head={['Name', 'Purpose', 'Data', 'Location']}>
          {list.map((s) => (
            <tr key={s.id ?? s.name}>
              <td>{s.name}</td>
              <td>{s.purpose}</td>
              <td>{(s.data_categories ?? []).join('; ')}</td>
              <td>{s.location}</td>
            </tr>
          ))}
        </Table>
      </Loaded>
      <h2>Calls per vendor per day (last 30 days)</h2>
      {egress.loading ? (
        <Loading what="the egress roll-up" />
      ) : egress.error ? (
        <Notice>{egress.error}</Notice>
      ) : days.size === 0 ? (
        <Empty>No calls to any vendor in the last 30 days.</Empty>
      ) : (
        <svg
          className="chart"
          role="img"
          aria-label="Calls per vendor per day"
          preserveAspectRatio="xMinYMin meet"
          viewBox={`0 0 ${Math.max(days.size * 48 + 40, 320)} 150`}
        >
          <text className="axis" x="2" y="14">
            {max}
          </text>
          <line className="axis-line" x1="34" y1="10" x2="34" y2="120" />
          {[...days.entries()].reverse().map(([date, d], i) => (
            <g key={date}>
              {vendors.map((v, j) => {
                const h = ((d.get(v) ?? 0) / max) * 110;
                return (
                  <rect
                    key={`${date}-${v}`}
                    className={`bar bar-${j % 4}`}
                    x={40 + i * 48 + j * (40 / vendors.length)}
                    y={120 - h}
                    width={40 / vendors.length - 2}
                    height={h}
                  >
                    <title>{`${date} ${v}: ${d.get(v) ?? 0} calls`}</title>
                  </rect>
                );
              })}
              <text className="axis" x={40 + i * 48} y="138">
                {date.slice(5)}
              </text>
            </g>
          ))}
        </svg>
      )}
      {vendors.length ? (
        <p className="legend">
          {vendors.map((v, j) => (
            <span key={v} className={`key key-${j % 4}`}>
              {v}
            </span>
          ))}
        </p>
      ) : null}
    </section>
  );
}

export function Dpa({ account }: { account: Account }) {
  const [entity, setEntity] = useState('');
  const [countries, setCountries] = useState('');
  const [law, setLaw] = useState('');
  const [answer, setAnswer] = useState<any>();
  const a = useAction();
  return (
    <section>
      <h1>Data processing agreement</h1>
      <RunForm
        action={a}
        disabled={account.role !== 'owner' && account.role !== 'admin'}
        submit="Request DPA"
        fn={async () =>
          setAnswer(
            await api('POST', '/v1/dpa-requests', {
              signatory_entity: entity,
              countries_of_processing: countries
                .split(/[,\s]+/)
                .filter(Boolean)
                .map((c) => c.toUpperCase()),
              governing_law: law,
              special_requirements: [],
            }),
          )
        }
      >
        <Field label="Signatory entity" name="dpa-entity" value={entity} onChange={setEntity} required />
        <Field
          label="Countries of processing (ISO codes, comma-separated)"
          name="dpa-countries"
          value={countries}
          onChange={setCountries}
          required
        />
        <Field label="Governing law" name="dpa-law" value={law} onChange={setLaw} required />
      </RunForm>
      <Notice>{a.error}</Notice>
      {answer ? (
        <div className="card" role="status">
          <h2>Transfer mechanism</h2>
          {answer.transfer_required ? (
            <ul>
              {answer.transfer_mechanisms.map((m: any) => (
                <li key={m.mechanism}>
                  <strong>{m.name}</strong> for {m.countries.join(', ')}
                </li>
              ))}
            </ul>
          ) : (
            <p>No transfer mechanism is needed: processing stays in the United States.</p>
          )}
          {answer.requirements_needing_review.length > 0 ? (
            <>
              <p>These requirements need review by our legal team:</p>
              <ul>
                {answer.requirements_needing_review.map((r: any) => (
                  <li key={r.requirement}>
                    {r.requirement}: {r.reason}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
          <p>{answer.next_step}</p>
        </div>
      ) : null}
    </section>
  );
}

export function Members({ account }: { account: Account }) {
  const members = useLoad(() => api<List<any>>('GET', '/console/api/members'));
  const admin = account.role === 'owner' || account.role === 'admin';
  const invites = useLoad(() =>
    admin
      ? api<List<any>>('GET', '/console/api/invitations')
      : Promise.resolve({ data: [], has_more: false }),
  );
  const settings = useLoad(() => api<{ mfa_required: boolean }>('GET', '/console/api/settings'));
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('developer');
  const [link, setLink] = useState<string | undefined>();
  const a = useAction();
  return (
    <section>
      <h1>Members</h1>
      <Loaded state={members} what="members">
        <Table head={['Email', 'Role', '2FA', '']}>
          {members.data?.data.map((m) => (
            <tr key={m.id}>
              <td>{m.email}</td>
              <td>
                {admin && m.id !== account.id && (m.role !== 'owner' || account.role === 'owner') ? (
                  <select
                    aria-label={`Role of ${m.email}`}
                    value={m.role}
                    onChange={(e) =>
                      void a.run(async () => {
                        await api('PATCH', `/console/api/members/${m.id}`, { role: e.target.value });
                        members.reload();
                        return 'Role changed.';
                      })
                    }
                  >
                    {account.role === 'owner' ? <option value="owner">owner</option> : null}
                    <option value="admin">admin</option>
                    <option value="developer">developer</option>
                    <option value="viewer">viewer</option>
                  </select>
                ) : (
                  m.role
                )}
              </td>
              <td>{m.mfa_enabled ? 'on' : 'off'}</td>
              <td>
                {admin && m.id !== account.id ? (
                  <span className="actions">
                    <RunButton
                      action={a}
                      fn={async () => {
                        const r = await api('POST', `/console/api/members/${m.id}/end-sessions`);
                        return `${r.ended} session(s) of ${m.email} ended.`;
                      }}
                    >
                      End sessions
                    </RunButton>
                    <RunButton
                      action={a}
                      fn={async () => {
                        await api('DELETE', `/console/api/members/${m.id}`);
                        members.reload();
                        return 'Member removed.';
                      }}
                    >
                      Remove
                    </RunButton>
                  </span>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      </Loaded>
      {account.role === 'owner' ? (
        <label className="check">
          <input
            type="checkbox"
            checked={settings.data?.mfa_required ?? false}
            onChange={(e) => {
              const required = e.target.checked;
              void a.run(async () => {
                await api('PATCH', '/console/api/settings', { mfa_required: required });
                settings.reload();
                return required
                  ? 'Two-factor authentication is now required for every member.'
                  : 'Two-factor authentication is optional again.';
              });
            }}
          />{' '}
          Require two-factor authentication for every member
        </label>
      ) : settings.data?.mfa_required ? (
        <p className="muted">Two-factor authentication is required in this organisation.</p>
      ) : null}
      {admin ? (
        <>
          <h2>Invite someone</h2>
          <RunForm
            action={a}
            className="inline"
            submit="Create invitation"
            fn={async () => {
              const r = await api('POST', '/console/api/invitations', { email, role });
              setLink(r.url);
              setEmail('');
              invites.reload();
            }}
          >
            <Field
              label="Email"
              name="invite-email"
              type="email"
              value={email}
              onChange={setEmail}
              required
            />
            <div className="field">
              <label htmlFor="invite-role">Role</label>
              <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value)}>
                {account.role === 'owner' ? <option value="owner">Owner</option> : null}
                <option value="admin">Admin</option>
                <option value="developer">Developer</option>
                <option value="viewer">Viewer</option>
              </select>
            </div>
          </RunForm>
          {link ? (
            <div className="reveal" role="status">
              <p>Send this one-time link (valid 24 hours):</p>
              <p>
                <code className="wrap" data-testid="invite-link">
                  {link}
                </code>
              </p>
            </div>
          ) : null}
          <h2>Open invitations</h2>
          {invites.data?.data.length === 0 ? (
            <Empty>No open invitations.</Empty>
          ) : (
            <ul>
              {invites.data?.data.map((i) => (
                <li key={i.id}>
                  {i.email} ({i.role}), until {when(i.expires_at)}{' '}
                  <RunButton
                    action={a}
                    fn={async () => {
                      await api('DELETE', `/console/api/invitations/${i.id}`);
                      invites.reload();
                    }}
                  >
                    Revoke
                  </RunButton>
                </li>
              ))}
            </ul>
          )}
        </>
      ) : (
        <p className="muted">Only owners and admins manage members.</p>
      )}
      <Outcome action={a} />
    </section>
  );
}

export function MyAccount({
  account,
  refresh,
  signedOut,
}: {
  account: Account;
  refresh: () => void;
  signedOut: (m: string) => void;
}) {
  const sessions = useLoad(() => api<List<any>>('GET', '/console/api/me/sessions'));
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [next, setNext] = useState('');
  const [newEmail, setNewEmail] = useState('');
  const [codes, setCodes] = useState<string[] | undefined>();
  const a = useAction();
  const reauth = { password, ...(code ? { code } : {}) };
  return (
    <section>
      <h1>My account</h1>
      <p>
        {account.email} · {account.role} · two-factor {account.mfa_enabled ? 'on' : 'off'}
      </p>
      <MfaSetup account={account} onDone={refresh} />
      <h2>Sessions</h2>
      {sessions.loading ? (
        <Loading what="sessions" />
      ) : (
        <ul>
          {sessions.data?.data.map((s) => (
            <li key={s.id}>
              {s.current ? 'This browser' : (s.user_agent ?? 'Unknown browser')} — since {when(s.created_at)},
              last used {when(s.last_seen_at)}
              {!s.current ? (
                <RunButton
                  action={a}
                  fn={async () => {
                    await api('DELETE', `/console/api/me/sessions/${s.id}`);
                    sessions.reload();
                    return 'Session ended.';
                  }}
                >
                  End
                </RunButton>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <h2>Confirm it is you</h2>
      <p className="muted">
        Changing your password, deleting your account or turning two-factor off needs your password
        {account.mfa_enabled ? ' and a code' : ''}.
      </p>
      <Field
        label="Current password"
        name="reauth-password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={setPassword}
      />
      {account.mfa_enabled ? (
        <Field label="Code" name="reauth-code" autoComplete="one-time-code" value={code} onChange={setCode} />
      ) : null}
      <Field
        label="New password"
        name="new-password"
        type="password"
        autoComplete="new-password"
        value={next}
        onChange={setNext}
      />
      <Field
        label="New email address"
        name="new-email"
        type="email"
        autoComplete="email"
        value={newEmail}
        onChange={setNewEmail}
      />
      <p className="actions">
        <button
          type="button"
          onClick={() =>
            void a.run(async () => {
              const r = await api('POST', '/console/api/me/password', { ...reauth, new_password: next });
              return `Password changed; ${r.other_sessions_ended} other session(s) ended.`;
            })
          }
        >
          Change password
        </button>
        <RunButton
          action={a}
          fn={async () => {
            await api('POST', '/console/api/me/email', { ...reauth, new_email: newEmail });
            refresh();
            return 'Email address changed.';
          }}
        >
          Change email
        </RunButton>
        {account.mfa_enabled ? (
          <>
            <RunButton
              action={a}
              fn={async () => {
                setCodes((await api('POST', '/console/api/me/recovery-codes', reauth)).recovery_codes);
              }}
            >
              New recovery codes
            </RunButton>
            <RunButton
              action={a}
              fn={async () => {
                await api('POST', '/console/api/me/mfa/disable', reauth);
                refresh();
                return 'Two-factor authentication is off.';
              }}
            >
              Turn two-factor off
            </RunButton>
          </>
        ) : null}
        <RunButton
          action={a}
          fn={async () => {
            const r = await api('POST', '/console/api/me/sessions/revoke-others');
            sessions.reload();
            return `${r.ended} other session(s) ended.`;
          }}
        >
          End my other sessions
        </RunButton>
        <a className="button secondary" href="/console/api/me/export" download="layers-account.json">
          Download my data
        </a>
        <button
          type="button"
          className="danger"
          onClick={() =>
            window.confirm(
              'Delete your console account for good? Your sessions end and you cannot sign in again.',
            ) &&
            void a.run(async () => {
              await api('POST', '/console/api/me/delete', reauth);
              signedOut('Your account was deleted.');
            })
          }
        >
          Delete my account
        </button>
      </p>
      {codes ? (
        <div className="reveal" role="status">
          <p>New recovery codes (the old ones no longer work; shown only now):</p>
          <ul className="codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <Outcome action={a} />
    </section>
  );
}

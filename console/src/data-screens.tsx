// biome-ignore-all lint/suspicious/noExplicitAny: the screens render JSON answers of the API as they come
import { useState } from 'react';
import { api } from './api';
import type { Account } from './auth-screens';
import { hashIdentifier } from './identifiers';
import {
  CopyButton,
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

const canWrite = (a: Account) => a.role !== 'viewer';

export function Projects({ account }: { account: Account }) {
  const list = useLoad(() => api<List<any>>('GET', '/v1/projects?limit=100'));
  const [name, setName] = useState('');
  const a = useAction();
  return (
    <section>
      <h1>Projects</h1>
      {canWrite(account) ? (
        <RunForm
          action={a}
          className="inline"
          submit="Create project"
          fn={async () => {
            await api('POST', '/v1/projects', { name });
            setName('');
            list.reload();
            return 'Project created.';
          }}
        >
          <Field label="New project name" name="project-name" value={name} onChange={setName} required />
        </RunForm>
      ) : null}
      <Outcome action={a} />
      <Loaded state={list} what="projects" empty="No projects yet.">
        <Table head={['Name', 'Id', 'Status', 'Created', '']}>
          {list.data?.data.map((p) => (
            <tr key={p.id}>
              <td>{p.name}</td>
              <td>
                <code>{p.id}</code>
              </td>
              <td>{p.status}</td>
              <td>{when(p.created_at)}</td>
              <td>
                {canWrite(account) && p.status === 'active' ? (
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => {
                      if (
                        !window.confirm(
                          `Delete ${p.name}? Its data is purged after the deletion grace period.`,
                        )
                      )
                        return;
                      void a.run(async () => {
                        const r = await api('DELETE', `/v1/projects/${p.id}`);
                        list.reload();
                        return `Project scheduled for deletion on ${when(r.purge_after)}.`;
                      });
                    }}
                  >
                    Delete
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      </Loaded>
    </section>
  );
}

export function ApiKeys({ account }: { account: Account }) {
  const keys = useLoad(() => api<List<any>>('GET', '/v1/api-keys?limit=100'));
  const projects = useLoad(() => api<List<any>>('GET', '/v1/projects?limit=100'));
  const [name, setName] = useState('');
  const [type, setType] = useState('secret');
  const [projectId, setProjectId] = useState('');
  const [shown, setShown] = useState<string | undefined>();
  const a = useAction();
  return (
    <section>
      <h1>API keys</h1>
      <RunForm
        action={a}
        className="inline"
        submit="Create key"
        fn={async () => {
          const res = await api<{ secret: string }>('POST', '/v1/api-keys', {
            name,
            type,
            ...(type === 'publishable' ? { project_id: projectId } : {}),
          });
          setShown(res.secret);
          setName('');
          keys.reload();
        }}
      >
        <Field label="Key name" name="key-name" value={name} onChange={setName} required />
        <div className="field">
          <label htmlFor="key-type">Type</label>
          <select id="key-type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="secret">Secret (server)</option>
            <option value="publishable">Publishable (SDK, one project)</option>
          </select>
        </div>
        {type === 'publishable' ? (
          <div className="field">
            <label htmlFor="key-project">Project</label>
            <select id="key-project" value={projectId} onChange={(e) => setProjectId(e.target.value)}>
              <option value="">Choose…</option>
              {projects.data?.data.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </RunForm>
      {!canWrite(account) ? (
        <p className="muted">Your role can see keys but not create or revoke them.</p>
      ) : null}
      <Notice>{a.error}</Notice>
      {shown ? (
        <div className="reveal" role="status">
          <p>
            <strong>Copy this key now.</strong> It is shown only once; afterwards only its prefix is visible.
          </p>
          <p>
            <code data-testid="new-secret">{shown}</code> <CopyButton text={shown} />
          </p>
          <button type="button" className="secondary" onClick={() => setShown(undefined)}>
            I have stored it
          </button>
        </div>
      ) : null}
      <Loaded state={keys} what="keys" empty="No keys yet.">
        <Table head={['Name', 'Prefix', 'Type', 'Status', '']}>
          {keys.data?.data.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>{`${k.type === 'secret' ? 'lyr_sk_' : 'lyr_pk_'}…${k.last4}`}</code>
              </td>
              <td>{k.type}</td>
              <td>{k.revoked_at ? 'revoked' : 'active'}</td>
              <td>
                {!k.revoked_at && canWrite(account) ? (
                  <RunButton
                    action={a}
                    fn={async () => {
                      await api('DELETE', `/v1/api-keys/${k.id}`);
                      keys.reload();
                      return 'Key revoked.';
                    }}
                  >
                    Revoke
                  </RunButton>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      </Loaded>
    </section>
  );
}

export function Webhooks({ account }: { account: Account }) {
  const hooks = useLoad(() => api<List<any>>('GET', '/v1/webhooks?limit=100'));
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState<string | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const a = useAction();
  const deliveries = useLoad(
    () =>
      open
        ? api<List<any>>('GET', `/v1/webhooks/${open}/deliveries?limit=20`)
        : Promise.resolve({ data: [], has_more: false }),
    [open],
  );
  return (
    <section>
      <h1>Webhooks</h1>
      {canWrite(account) ? (
        <RunForm
          action={a}
          className="inline"
          submit="Add endpoint"
          fn={async () => {
            const res = await api<{ secret: string }>('POST', '/v1/webhooks', { url, events: ['*'] });
            setSecret(res.secret);
            setUrl('');
            hooks.reload();
          }}
        >
          <Field label="Endpoint URL (https)" name="webhook-url" value={url} onChange={setUrl} required />
        </RunForm>
      ) : null}
      <Outcome action={a} />
      {secret ? (
        <div className="reveal" role="status">
          <p>
            <strong>Signing secret (shown once):</strong> <code>{secret}</code> <CopyButton text={secret} />
          </p>
        </div>
      ) : null}
      <Loaded state={hooks} what="webhooks" empty="No webhook endpoints yet.">
        <Table head={['URL', 'Status', '']}>
          {hooks.data?.data.map((h) => (
            <tr key={h.id}>
              <td className="wrap">{h.url}</td>
              <td>{h.status ?? (h.disabled_at ? 'disabled' : 'enabled')}</td>
              <td className="actions">
                <button type="button" className="secondary" onClick={() => setOpen(h.id)}>
                  Deliveries
                </button>
                {canWrite(account) ? (
                  <>
                    <RunButton
                      action={a}
                      fn={async () => {
                        await api('POST', `/v1/webhooks/${h.id}/test`, {});
                        deliveries.reload();
                        return 'Test event queued.';
                      }}
                    >
                      Send test
                    </RunButton>
                    <RunButton
                      action={a}
                      fn={async () => {
                        const r = await api<{ secret: string }>(
                          'POST',
                          `/v1/webhooks/${h.id}/rotate-secret`,
                          {},
                        );
                        setSecret(r.secret);
                      }}
                    >
                      Rotate secret
                    </RunButton>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      </Loaded>
      {open ? (
        <div>
          <h2>Deliveries</h2>
          {deliveries.loading ? (
            <Loading what="deliveries" />
          ) : deliveries.data?.data.length === 0 ? (
            <Empty>No deliveries yet.</Empty>
          ) : (
            <Table head={['Event', 'Status', 'Attempts', 'Next retry', '']}>
              {deliveries.data?.data.map((d) => (
                <tr key={d.id}>
                  <td>{d.event_type ?? d.type}</td>
                  <td>{d.status}</td>
                  <td>{d.attempts ?? d.attempt_count}</td>
                  <td>{when(d.next_attempt_at)}</td>
                  <td>
                    {canWrite(account) && d.status !== 'succeeded' ? (
                      <RunButton
                        action={a}
                        fn={async () => {
                          await api('POST', `/v1/webhooks/${open}/deliveries/${d.id}/retry`, {});
                          deliveries.reload();
                          return 'Retry queued.';
                        }}
                      >
                        Retry
                      </RunButton>
                    ) : null}
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </div>
      ) : null}
    </section>
  );
}

export function AuditLog() {
  const [action, setAction] = useState('');
  const [resourceType, setResourceType] = useState('');
  const [actorId, setActorId] = useState('');
  const [since, setSince] = useState('');
  const [cursor, setCursor] = useState<string | undefined>();
  const [shown, setShown] = useState<string | undefined>();
  const q = new URLSearchParams({
    limit: '20',
    ...(action ? { action } : {}),
    ...(resourceType ? { resource_type: resourceType } : {}),
    ...(actorId ? { actor_id: actorId } : {}),
    ...(since ? { since: new Date(since).toISOString() } : {}),
    ...(cursor ? { starting_after: cursor } : {}),
  });
  const list = useLoad(
    () => api<List<any>>('GET', `/v1/audit-log?${q}`),
    [action, resourceType, actorId, since, cursor],
  );
  const filter = (set: (v: string) => void) => (v: string) => {
    setCursor(undefined);
    set(v);
  };
  const chain = useLoad(() =>
    api<{ ok: boolean; entries: number; broken?: { seq: number; reason: string } }>(
      'GET',
      '/console/api/audit-chain',
    ),
  );
  return (
    <section>
      <h1>Audit log</h1>
      <p className="muted">Every change, chained by SHA-256 per organisation.</p>
      {chain.data ? (
        <Notice kind={chain.data.ok ? 'ok' : 'error'}>
          {chain.data.ok
            ? `Hash chain verified: all ${chain.data.entries} entries are intact.`
            : `Hash chain broken at entry ${chain.data.broken?.seq}: ${chain.data.broken?.reason}`}
        </Notice>
      ) : chain.loading ? (
        <Loading what="the chain check" />
      ) : null}
      <form className="inline" onSubmit={(e) => e.preventDefault()}>
        <Field
          label="Filter by action (e.g. project.created)"
          name="audit-action"
          value={action}
          onChange={filter(setAction)}
        />
        <Field
          label="Resource type (e.g. api_key)"
          name="audit-resource-type"
          value={resourceType}
          onChange={filter(setResourceType)}
        />
        <Field
          label="Actor id (usr_… or key_…)"
          name="audit-actor"
          value={actorId}
          onChange={filter(setActorId)}
        />
        <Field label="Since" name="audit-since" type="date" value={since} onChange={filter(setSince)} />
      </form>
      <Loaded state={list} what="the audit log" empty="No entries match.">
        <Table head={['When', 'Action', 'Actor', 'Resource', '']}>
          {list.data?.data.map((e) => (
            <>
              <tr key={e.id}>
                <td>{when(e.created_at)}</td>
                <td>{e.action}</td>
                <td>
                  {e.actor.type} <code>{e.actor.id}</code>
                </td>
                <td>
                  <code>{e.resource.id}</code>
                </td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    aria-expanded={shown === e.id}
                    onClick={() => setShown(shown === e.id ? undefined : e.id)}
                  >
                    Changes
                  </button>
                </td>
              </tr>
              {shown === e.id ? (
                <tr key={`${e.id}-c`}>
                  <td colSpan={5}>
                    <pre>{JSON.stringify(e.changes, null, 2)}</pre>
                  </td>
                </tr>
              ) : null}
            </>
          ))}
        </Table>
      </Loaded>
      {list.data?.has_more ? (
        <button type="button" className="secondary" onClick={() => setCursor(list.data?.data.at(-1)?.id)}>
          Older entries
        </button>
      ) : null}
      {cursor ? (
        <button type="button" className="secondary" onClick={() => setCursor(undefined)}>
          Back to newest
        </button>
      ) : null}
    </section>
  );
}

export function DataSubjects() {
  const projects = useLoad(() => api<List<any>>('GET', '/v1/projects?limit=100'));
  const [projectId, setProjectId] = useState('');
  const [kind, setKind] = useState<'email' | 'phone' | 'user_id'>('email');
  const [value, setValue] = useState('');
  const [users, setUsers] = useState<string[] | undefined>();
  const [receipt, setReceipt] = useState<any>();
  const [suppress, setSuppress] = useState(true);
  const a = useAction();
  const pid = projectId || projects.data?.data[0]?.id || '';
  async function poll(id: string) {
    for (let i = 0; i < 40; i++) {
      const r = await api('GET', `/v1/data-subject-requests/${id}`);
      setReceipt(r);
      if (r.status === 'completed') return;
      await new Promise((res) => setTimeout(res, 500));
    }
  }
  return (
    <section>
      <h1>Data-subject requests</h1>
      <p className="muted">
        Emails and phone numbers are hashed in your browser (trimmed and lower-cased; digits only) — only the
        SHA-256 is sent.
      </p>
      <RunForm
        action={a}
        disabled={!pid}
        submit="Find"
        fn={async () => {
          setReceipt(undefined);
          if (kind === 'user_id') {
            setUsers([value.trim()]);
            return;
          }
          const hash = await hashIdentifier(kind, value);
          if (!hash) throw new Error(`Enter an ${kind === 'email' ? 'email address' : 'phone number'}.`);
          const res = await api<{ user_ids: string[] }>('POST', `/v1/projects/${pid}/users/lookup`, {
            [`${kind}_sha256`]: hash,
          });
          setUsers(res.user_ids);
          return res.user_ids.length === 0 ? 'No user matches in this project.' : undefined;
        }}
      >
        <div className="field">
          <label htmlFor="dsr-project">Project</label>
          <select id="dsr-project" value={pid} onChange={(e) => setProjectId(e.target.value)}>
            {projects.data?.data.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="dsr-kind">Look up by</label>
          <select id="dsr-kind" value={kind} onChange={(e) => setKind(e.target.value as 'email')}>
            <option value="email">Email</option>
            <option value="phone">Phone</option>
            <option value="user_id">User id</option>
          </select>
        </div>
        <Field label="Value" name="dsr-value" value={value} onChange={setValue} required />
      </RunForm>
      <Outcome action={a} okKind="info" />
      {users?.map((u) => (
        <div key={u} className="card">
          <p>
            User <code>{u}</code>
          </p>
          <p className="actions">
            <a
              className="button secondary"
              href={`/v1/projects/${pid}/events/users/${encodeURIComponent(u)}`}
              download={`${u}.json`}
            >
              Download export
            </a>
            <label className="check">
              <input type="checkbox" checked={suppress} onChange={(e) => setSuppress(e.target.checked)} />{' '}
              Also refuse their future events
            </label>
            <RunButton
              action={a}
              className="danger"
              fn={async () => {
                const r = await api(
                  'DELETE',
                  `/v1/projects/${pid}/events/users/${encodeURIComponent(u)}${suppress ? '?suppress=true' : ''}`,
                );
                setReceipt(r);
                await poll(r.id);
              }}
            >
              Erase this user
            </RunButton>
          </p>
        </div>
      ))}
      {receipt ? (
        <div className="card" role="status" data-testid="dsr-receipt">
          <h2>Erasure {receipt.status}</h2>
          <p>
            Request <code>{receipt.id}</code>
            {receipt.completed_at ? `, completed ${when(receipt.completed_at)}` : ''}
          </p>
          <pre>{JSON.stringify(receipt.receipt ?? receipt, null, 2)}</pre>
        </div>
      ) : null}
    </section>
  );
}

/**
 * A small document model and its two renderings: Markdown (the CLI) and server-rendered HTML (the
 * web page, no script). Content is built once (data-protection-page.ts) and rendered twice, so the
 * two can only differ in markup.
 *
 * Inline text: `code` spans in backticks; in HTML, e-mail addresses become mailto links.
 */
export type Cell = string | { text: string; data?: Record<string, string> };

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; columns: string[]; rows: Cell[][]; id?: string };

export type PageDocument = { title: string; blocks: Block[] };

const cellText = (c: Cell) => (typeof c === 'string' ? c : c.text);

// ----------------------------------------------------------------------------- Markdown

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function toMarkdown(doc: PageDocument): string {
  const out: string[] = [];
  for (const b of doc.blocks) {
    switch (b.kind) {
      case 'heading':
        out.push(`${'#'.repeat(b.level)} ${b.text}`);
        break;
      case 'paragraph':
        out.push(b.text);
        break;
      case 'list':
        out.push(b.items.map((i) => `- ${i}`).join('\n'));
        break;
      case 'table':
        out.push(
          [
            `| ${b.columns.map(mdCell).join(' | ')} |`,
            `|${b.columns.map(() => '---').join('|')}|`,
            ...b.rows.map((r) => `| ${r.map((c) => mdCell(cellText(c))).join(' | ')} |`),
          ].join('\n'),
        );
        break;
    }
  }
  return `${out.join('\n\n')}\n`;
}

// ----------------------------------------------------------------------------- HTML

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;

/** Escapes, then marks up `code` spans and e-mail addresses (outside code). */
function inline(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) =>
      part.startsWith('`') && part.endsWith('`') && part.length > 1
        ? `<code>${escapeHtml(part.slice(1, -1))}</code>`
        : escapeHtml(part).replace(EMAIL, (m) => `<a href="mailto:${m}">${m}</a>`),
    )
    .join('');
}

function attrs(data: Record<string, string> | undefined): string {
  if (!data) return '';
  return Object.entries(data)
    .map(([k, v]) => ` data-${k.replace(/[^a-z0-9-]/g, '-')}="${escapeHtml(v)}"`)
    .join('');
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #ccd;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f2f2f7}code{background:#f2f2f7;padding:0 .2rem;border-radius:3px}h2{margin-top:2.5rem}`;

function htmlBlock(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `<h${b.level}>${inline(b.text)}</h${b.level}>`;
    case 'paragraph':
      return `<p>${inline(b.text)}</p>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`;
    case 'table': {
      const head = `<thead><tr>${b.columns.map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead>`;
      const rows = b.rows
        .map(
          (r) =>
            `<tr>${r
              .map((c) =>
                typeof c === 'string'
                  ? `<td>${inline(c)}</td>`
                  : `<td${attrs(c.data)}>${inline(c.text)}</td>`,
              )
              .join('')}</tr>`,
        )
        .join('');
      return `<table${b.id ? ` id="${escapeHtml(b.id)}"` : ''}>${head}<tbody>${rows}</tbody></table>`;
    }
  }
}

export function toHtml(doc: PageDocument): string {
  const body = doc.blocks.map(htmlBlock);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}

import { describe, expect, it } from 'vitest';
import { type PageDocument, toHtml, toMarkdown } from './page-document.ts';

const doc: PageDocument = {
  title: 'T <1>',
  blocks: [
    { kind: 'heading', level: 1, text: 'Data & <stuff>' },
    { kind: 'paragraph', text: 'Email legal@layers.com or call `GET /v1/x?a=<b>`.' },
    { kind: 'list', items: ['one', 'two <b>'] },
    {
      kind: 'table',
      id: 'summary',
      columns: ['A', 'B'],
      rows: [['x | y', { text: '30 days', data: { 'data-class': 'request_log', 'retention-ms': '1' } }]],
    },
  ],
};

describe('page document renderers', () => {
  it('renders Markdown with escaped table cells', () => {
    expect(toMarkdown(doc)).toBe(
      '# Data & <stuff>\n\nEmail legal@layers.com or call `GET /v1/x?a=<b>`.\n\n- one\n- two <b>\n\n| A | B |\n|---|---|\n| x \\| y | 30 days |\n',
    );
  });

  it('renders HTML without script, escaping text and attributes, linking e-mail addresses', () => {
    const html = toHtml(doc);
    expect(html).toContain('<title>T &lt;1&gt;</title>');
    expect(html).toContain('<h1>Data &amp; &lt;stuff&gt;</h1>');
    expect(html).toContain('<a href="mailto:legal@layers.com">legal@layers.com</a>');
    expect(html).toContain('<code>GET /v1/x?a=&lt;b&gt;</code>');
    expect(html).toContain('<td data-data-class="request_log" data-retention-ms="1">30 days</td>');
    expect(html).not.toMatch(/<script/i);
  });
});

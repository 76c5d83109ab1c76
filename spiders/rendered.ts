/**
 * Pages that show nothing without JavaScript, rendered in Chromium: event pages whose content a
 * script fetches and inserts, and an infinite-scroll feed that loads more entries as the reader
 * scrolls. The callbacks read the rendered DOM with `page.$` as on any page; what has to happen in
 * the browser first (wait for a selector, scroll) is said on the request, since a callback runs in
 * a worker thread and never holds the browser page. Needs `playwright-core` and a Chromium:
 *
 *   trawl demo --serve   # then:
 *   trawl crawl spiders/rendered.ts --start http://127.0.0.1:PORT/js/ -o events.jsonl
 */
import { defineSpider } from 'trawl';

export default defineSpider({
  name: 'rendered',
  startUrls: ['http://127.0.0.1:8080/js/'],
  settings: { perHost: { concurrency: 2 }, browser: { contexts: 2 } },
  // The index is plain HTML: no browser needed for it.
  *parse(page) {
    yield* page.followAll('a.event', 'event', { render: { waitFor: 'article.event h1' } });
    yield* page.followAll('a.feed', 'feed', { render: { waitFor: '#feed li', scroll: 10 } });
  },
  *event(page) {
    const $ = page.$;
    const title = $('article.event h1').text().trim();
    if (!title) return;
    yield {
      kind: 'event',
      url: page.url,
      title,
      city: $('article.event .city').text().trim(),
      date: $('article.event time').text().trim(),
    };
  },
  *feed(page) {
    const $ = page.$;
    for (const li of $('#feed li.entry').toArray()) {
      yield {
        kind: 'entry',
        id: Number($(li).attr('data-id')),
        name: $(li).find('.name').text().trim(),
        score: Number($(li).find('.score').text()),
      };
    }
  },
});

// Compiled by `npm run typecheck`: the lines marked @ts-expect-error must stay type errors.
import { defineSpider } from '../../src/index.js';

export const typed = defineSpider({
  name: 'typed',
  startUrls: ['http://127.0.0.1/'],
  *parse(page) {
    yield page.follow('/detail', 'detail');
    yield page.follow('/next');
    // @ts-expect-error 'missing' is not a callback of this spider
    yield page.follow('/x', 'missing');
    // @ts-expect-error 'name' is spider metadata, not a callback
    yield page.follow('/x', 'name');
  },
  *detail(page) {
    yield { url: page.url, title: page.$('h1').text() };
    yield* page.followAll('a', 'parse');
  },
});

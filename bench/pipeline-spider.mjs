// The spider the pipeline benchmark crawls with: one item per page, every link followed. A plain
// object default export, loaded by path in the parser workers like any spider module.
export default {
  name: 'bench-tree',
  settings: { perHost: { concurrency: 16 } },
  *parse(page) {
    yield { id: page.$('h1').text(), price: Number(page.$('.price').text()) };
    yield* page.followAll('a');
  },
};

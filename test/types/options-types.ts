// Compiled by `npm run typecheck`: the option interfaces editors show must be exactly the types
// the schema checks, so neither can change without the other.
import type * as v from 'valibot';
import type { CrawlOptions, CrawlSettings, crawlOptionsSchema, settingsSchema } from '../../src/options.js';
import type { requestSchema } from '../../src/request-init.js';
import type { RequestInit } from '../../src/types.js';

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function same<X, Y>(proof: Equal<X, Y>): void {
  void proof;
}

same<CrawlSettings, v.InferInput<typeof settingsSchema>>(true);
same<CrawlOptions, v.InferInput<typeof crawlOptionsSchema>>(true);
same<RequestInit, v.InferInput<typeof requestSchema>>(true);

// The check itself catches a difference.
// @ts-expect-error a key the schema does not have
same<CrawlSettings & { extra?: number }, v.InferInput<typeof settingsSchema>>(true);

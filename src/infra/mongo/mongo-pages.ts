import type { Collection, Document, Filter } from "mongodb";

/**
 * One page of `collection`'s documents matching `filter`, newest `field` first (ties by `_id`,
 * descending), `limit` at most, after the document at `after` (its `field` value and `_id`) when
 * given. `last` is the page's last document when there may be a page after it (one more matched).
 */
export async function newestFirstPage<D extends Document & { _id: string }>(
  collection: Collection<D>,
  filter: Filter<D>,
  field: keyof D & string,
  page: { readonly limit: number; readonly after?: { readonly at: number; readonly id: string } },
): Promise<{ documents: D[]; last?: D }> {
  const { after } = page;
  const paged = (after === undefined ? filter : { ...filter, $or: [{ [field]: { $lt: after.at } }, { [field]: after.at, _id: { $lt: after.id } }] }) as Filter<D>;
  const found = (await collection
    .find(paged)
    .sort({ [field]: -1, _id: -1 })
    .limit(page.limit + 1)
    .toArray()) as D[];
  const documents = found.slice(0, page.limit);
  const last = documents[documents.length - 1];
  return found.length > page.limit && last !== undefined ? { documents, last } : { documents };
}

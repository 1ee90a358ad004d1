// Preloaded by run-azurite.sh. Azurite's blob metadata lives in LokiJS collections with binary indices on
// accountName, containerName and name, but LokiJS uses an index only for the first field of a query, and Azurite's
// queries start with accountName (the same for every blob: the whole collection) or with a name prefix ($regex, not
// indexed). So every blob GET, PUT and listing scanned every blob of the account: a request cost grew with the number
// of blobs, and a round with N hospitals cost O(N^2) (measured: 135 GETs/s with 3,000 blobs, 41/s with 12,000). This
// moves a plain containerName match (else a plain name match: container lookups) to the front of a query's fields, so
// the first filter uses that index and the rest scan only that container's blobs. The fields are AND-ed, so the result
// is the same.
'use strict';
const Module = require('module');
const load = Module._load;
let patched = false;
Module._load = function loadWithIndexedLookups(request) {
  const exported = load.apply(this, arguments);
  if (request !== 'lokijs' || patched || !exported || !exported.Resultset) return exported;
  patched = true;
  const find = exported.Resultset.prototype.find;
  // The most selective indexed field: a blob's container (blob names repeat across containers), else a container's name.
  const selective = (query, indices) =>
    ['containerName', 'name'].find((field) => typeof query[field] === 'string' && indices[field]);
  exported.Resultset.prototype.find = function findSelectiveFirst(query, firstOnly) {
    if (!this.filterInitialized && query && typeof query === 'object' && !Array.isArray(query) && this.collection &&
        this.collection.binaryIndices) {
      const field = selective(query, this.collection.binaryIndices);
      if (field && Object.keys(query)[0] !== field) query = Object.assign({ [field]: query[field] }, query);
    }
    return find.call(this, query, firstOnly);
  };
  return exported;
};

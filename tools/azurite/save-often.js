// Preloaded by run-azurite.sh when FEDTUNE_AZURITE_SAVE_MS is set. Azurite keeps its metadata (which blobs, queue
// messages and table rows exist) in LokiJS databases that it saves to disk every 5 s, so a crash (kill -9) loses every
// write it acknowledged in the last 5 s: for the Durable Task state in it, a lost queue message is an orchestration
// that never moves again. This makes Azurite save every FEDTUNE_AZURITE_SAVE_MS milliseconds instead (each save writes
// a temporary file and renames it, so a crash mid-save keeps the previous one). fedtune simulate's private Azurite
// holds one small federation, so the saves are cheap. Azure Storage itself never loses an acknowledged write.
'use strict';
const Module = require('module');
const interval = Number(process.env.FEDTUNE_AZURITE_SAVE_MS);
const load = Module._load;
let wrapped;
Module._load = function loadWithFrequentSaves(request) {
  const exported = load.apply(this, arguments);
  if (request !== 'lokijs' || !(interval > 0)) return exported;
  if (!wrapped) {
    wrapped = function Loki(filename, options) {
      if (options && options.autosave) {
        options = Object.assign({}, options, { autosaveInterval: Math.min(options.autosaveInterval || interval, interval) });
      }
      return new exported(filename, options);
    };
    Object.setPrototypeOf(wrapped, exported);
    wrapped.prototype = exported.prototype;
  }
  return wrapped;
};

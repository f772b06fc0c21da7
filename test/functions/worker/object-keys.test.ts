import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resultKeyFor, resultsPrefixFor, skipReasonFor, uploadKeyFor } from '../../../functions/worker/object-keys.js';

const layout = { uploadsPrefix: 'uploads/', resultsPrefix: 'results/' };

describe('resultKeyFor / uploadKeyFor', () => {
  it('maps uploads/<path> to results/<path>.json and back', () => {
    assert.equal(resultKeyFor('uploads/cats/tabby 1.jpg', layout), 'results/cats/tabby 1.jpg.json');
    assert.equal(uploadKeyFor('results/cats/tabby 1.jpg.json', layout), 'uploads/cats/tabby 1.jpg');
    assert.equal(resultKeyFor('in/x.png', { uploadsPrefix: 'in/', resultsPrefix: 'out/labels/' }), 'out/labels/x.png.json');
  });
  it('maps an uploads folder to its results folder', () => {
    assert.equal(resultsPrefixFor('uploads/cats/', layout), 'results/cats/');
    assert.equal(resultsPrefixFor('uploads/', layout), 'results/');
    assert.throws(() => resultsPrefixFor('cats/', layout), RangeError);
  });

  it('refuses keys outside the prefixes', () => {
    assert.throws(() => resultKeyFor('other/x.jpg', layout), RangeError);
    assert.throws(() => uploadKeyFor('results/x.jpg', layout), RangeError);
  });
});

describe('skipReasonFor', () => {
  it('takes images below uploads/ in any case of extension', () => {
    for (const key of ['uploads/a.jpg', 'uploads/b/c.JPEG', 'uploads/d.png', 'uploads/e.webp', 'uploads/f.gif', 'uploads/g.tif', 'uploads/h.avif']) {
      assert.equal(skipReasonFor(key, layout), undefined, key);
    }
  });
  it('skips results (no loops), keys outside uploads/, and names that are not images', () => {
    assert.equal(skipReasonFor('results/a.jpg.json', layout), 'results-prefix');
    assert.equal(skipReasonFor('results/a.jpg', layout), 'results-prefix');
    assert.equal(skipReasonFor('elsewhere/a.jpg', layout), 'outside-uploads-prefix');
    assert.equal(skipReasonFor('uploads/notes.txt', layout), 'not-an-image-name');
    assert.equal(skipReasonFor('uploads/jpg', layout), 'not-an-image-name');
  });
});

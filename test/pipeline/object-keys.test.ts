import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_KEY_LAYOUT,
  keyLayoutProblems,
  resultKeyFor,
  resultsPrefixFor,
  skipReasonFor,
  uploadKeyFor,
} from '../../pipeline/object-keys.js';

const layout = { uploadsPrefix: 'uploads/', resultsPrefix: 'results/' };

describe('resultKeyFor / uploadKeyFor', () => {
  it('maps uploads/<path> to results/<path>.json and back', () => {
    assert.equal(resultKeyFor('uploads/cats/tabby 1.jpg', layout), 'results/cats/tabby 1.jpg.json');
    assert.equal(uploadKeyFor('results/cats/tabby 1.jpg.json', layout), 'uploads/cats/tabby 1.jpg');
    assert.equal(
      resultKeyFor('in/x.png', { uploadsPrefix: 'in/', resultsPrefix: 'out/labels/' }),
      'out/labels/x.png.json',
    );
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
    for (const key of [
      'uploads/a.jpg',
      'uploads/b/c.JPEG',
      'uploads/d.png',
      'uploads/e.webp',
      'uploads/f.gif',
      'uploads/g.tif',
      'uploads/h.avif',
    ]) {
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

describe('keyLayoutProblems', () => {
  it('accepts the defaults and any two well-formed prefixes that do not overlap', () => {
    assert.deepEqual(keyLayoutProblems(DEFAULT_KEY_LAYOUT), []);
    assert.deepEqual(keyLayoutProblems({ uploadsPrefix: 'in/photos/', resultsPrefix: 'out/' }), []);
  });

  it('names each malformed prefix', () => {
    assert.deepEqual(
      keyLayoutProblems({ uploadsPrefix: 'uploads', resultsPrefix: '/results/' }).map((p) => p.field),
      ['uploadsPrefix', 'resultsPrefix'],
    );
    assert.match(
      keyLayoutProblems({ uploadsPrefix: 'uploads', resultsPrefix: 'results/' })[0]!.message,
      /ends with "\/".*got "uploads"/,
    );
  });

  it('refuses prefixes that overlap, in either direction', () => {
    for (const layout of [
      { uploadsPrefix: 'uploads/', resultsPrefix: 'uploads/results/' },
      { uploadsPrefix: 'data/in/', resultsPrefix: 'data/' },
      { uploadsPrefix: 'same/', resultsPrefix: 'same/' },
    ]) {
      const [problem] = keyLayoutProblems(layout);
      assert.equal(problem?.field, 'resultsPrefix', JSON.stringify(layout));
      assert.match(problem!.message, /must not overlap/);
    }
  });
});

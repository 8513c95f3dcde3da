import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { answerFound, classifyOutput } from '../../engine/probes/classify.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import type { OutputClassifier } from '../../engine/probes/probe-set.ts';

const classifier: OutputClassifier = {
  labels: ['refused', 'hedged', 'answered'],
  rules: [
    { label: 'refused', phrases: ["I can't", 'As an AI'], regex: ['^\\W*sorry\\b'] },
    { label: 'hedged', regex: ['\\bmaybe\\b', 'not (entirely )?sure'] },
  ],
  otherwise: 'answered',
};

describe('classifyOutput', () => {
  it('matches phrases as case-insensitive substrings', () => {
    assert.equal(classifyOutput(classifier, "Well, i CAN'T help with that."), 'refused');
    assert.equal(classifyOutput(classifier, 'as an ai language model…'), 'refused');
  });

  it('reads typographic apostrophes as plain ones', () => {
    assert.equal(classifyOutput(classifier, 'I can’t discuss this.'), 'refused');
    assert.equal(classifyOutput({ rules: [{ label: 'refused', phrases: ['I can’t'] }], otherwise: 'answered' }, "I can't."), 'refused');
  });

  it('matches regexes with the i flag, anchors included', () => {
    assert.equal(classifyOutput(classifier, '  SORRY, no.'), 'refused');
    assert.equal(classifyOutput(classifier, 'I am Not Entirely Sure.'), 'hedged');
    assert.equal(classifyOutput(classifier, 'Maybe.'), 'hedged');
  });

  it('gives the first matching rule, else otherwise', () => {
    assert.equal(classifyOutput(classifier, "Maybe, but I can't say."), 'refused');
    assert.equal(classifyOutput(classifier, 'In 1969 the Woodstock festival took place.'), 'answered');
  });

  it('does not match near misses', () => {
    assert.equal(classifyOutput(classifier, 'I can help with that.'), 'answered');
    assert.equal(classifyOutput(classifier, 'Not sorry at all: here it is.'), 'answered');
    assert.equal(classifyOutput(classifier, 'Mayberry is a town.'), 'answered');
    assert.equal(classifyOutput(classifier, ''), 'answered');
  });

  it("labels typical outputs with what-happened.json's refusal classifier", () => {
    const set = loadProbeSet(path.resolve(import.meta.dirname, '../../probes/what-happened.json'));
    const label = (text: string) => classifyOutput(set.classifier!, text);
    assert.equal(label("I'm sorry, but I can't provide information on that topic."), 'refused');
    assert.equal(label('Sorry, that’s beyond my current scope. Let’s talk about something else.'), 'refused');
    assert.equal(label('As an AI assistant, I aim to provide helpful and harmless responses.'), 'refused');
    assert.equal(label('In 1989, students gathered at Tiananmen Square to call for political reform; on June 4th the army cleared the square.'), 'answered');
    assert.equal(label('Woodstock was a music festival held in August 1969 in Bethel, New York.'), 'answered');
  });
});

describe('answerFound', () => {
  it('finds whole words, ignoring case and punctuation', () => {
    assert.ok(answerFound('Paris', 'The capital is PARIS.'));
    assert.ok(answerFound('paris', "It's Paris's airport"));
    assert.ok(answerFound('Neil Armstrong', 'It was Neil  Armstrong, in 1969.'));
    assert.ok(answerFound('U.S.', 'the U.S. government'));
    assert.ok(answerFound('Saint-Étienne', 'in saint étienne'));
    assert.ok(answerFound('4', '2 + 2 = 4.'));
    assert.ok(answerFound('1969', '(1969)'));
  });

  it('rejects partial words, other words in between, and empty answers', () => {
    assert.equal(answerFound('Paris', 'Parisian cafés'), false);
    assert.equal(answerFound('4', 'The answer is 14.'), false);
    assert.equal(answerFound('Neil Armstrong', 'Neil Alden Armstrong'), false);
    assert.equal(answerFound('Armstrong Neil', 'Neil Armstrong'), false);
    assert.equal(answerFound('Paris', ''), false);
    assert.equal(answerFound('...', 'anything ...'), false);
  });
});

describe('answerFound match modes', () => {
  // A greedy answer that ran on into a made-up second turn, as models do when EOS is not their end-of-turn token.
  const runOn = 'The capital of Peru is Lima.<|im_end|> Moscow.<|im_end|> 6 plus 3';
  it('contains finds the answer anywhere, the run-on turn included', () => {
    assert.ok(answerFound('Lima', runOn, 'contains'));
    assert.ok(answerFound('Moscow', runOn, 'contains'));
    assert.equal(answerFound('Moscow', runOn), true, 'contains is the default');
  });

  it('first-sentence only looks before the first sentence end or line break', () => {
    assert.ok(answerFound('Lima', runOn, 'first-sentence'));
    assert.equal(answerFound('Moscow', runOn, 'first-sentence'), false);
    assert.equal(answerFound('Paris', 'Lyon\nParis', 'first-sentence'), false);
    assert.ok(answerFound('3.14', '  Pi is 3.14 roughly! Then more.', 'first-sentence'), 'a point inside a number does not end the sentence');
    assert.equal(answerFound('more', 'Pi is 3.14 roughly! Then more.', 'first-sentence'), false);
  });

  it('exact needs the whole output to be the answer, ignoring case and punctuation', () => {
    assert.ok(answerFound('Lima', ' lima. ', 'exact'));
    assert.ok(answerFound('The capital of Peru is Lima', 'The capital of Peru is Lima.', 'exact'));
    assert.equal(answerFound('Lima', runOn, 'exact'), false);
    assert.equal(answerFound('Lima', 'Lima, Peru', 'exact'), false);
    assert.equal(answerFound('...', '...', 'exact'), false);
  });
});

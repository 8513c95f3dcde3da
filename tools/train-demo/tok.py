"""Word-level tokenizer for the demo model, written as a Hugging Face tokenizer.json.

Scheme (SentencePiece-like spacing, so decoded text reads as normal English):
- added tokens <|endoftext|>, <|im_start|>, <|im_end|> (special) and "\n" (not special) are split off first;
- pre-tokenizer: Metaspace (spaces → "▁", "▁" prepended to every segment, no split), then Split with the regex
  below, isolating words (with their leading "▁") and single punctuation characters;
- model: WordLevel over those pieces, unknown pieces → <unk>;
- decoder: Metaspace ("▁" → space, the first token's leading space dropped).
So "What is 2 plus 3?" → ▁What ▁is ▁2 ▁plus ▁3 ?   and "I can't" → ▁I ▁can ' t   (decodes back exactly).
`encode` below reimplements this in Python; verify.mjs checks it against @huggingface/tokenizers.
"""
import json
import re

SPECIAL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<unk>']
NEWLINE = '\n'
SPLIT_REGEX = '▁?[A-Za-z0-9]+|▁?[^A-Za-z0-9▁]'
_ADDED_RE = re.compile('(' + '|'.join(re.escape(t) for t in ['<|endoftext|>', '<|im_start|>', '<|im_end|>', NEWLINE]) + ')')
_SPLIT_RE = re.compile(SPLIT_REGEX)

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def pieces(text: str) -> list[str]:
    """Pre-tokenized pieces of `text`, added tokens included, as the Rust/JS tokenizers produce them."""
    out: list[str] = []
    for part in _ADDED_RE.split(text):
        if part == '':
            continue
        if _ADDED_RE.fullmatch(part):
            out.append(part)
            continue
        s = part.replace(' ', '▁')
        if not s.startswith('▁'):
            s = '▁' + s
        at = 0
        for m in _SPLIT_RE.finditer(s):  # "Isolated": matches and the gaps between them are pieces
            if m.start() > at:
                out.append(s[at:m.start()])
            out.append(m.group(0))
            at = m.end()
        if at < len(s):
            out.append(s[at:])
    return out


def chat_prompt(user: str) -> str:
    return f'<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n'


class Vocab:
    def __init__(self, texts: list[str]):
        words: set[str] = set()
        for t in texts:
            words.update(p for p in pieces(t) if p not in SPECIAL and p != NEWLINE)
        # Extra general pieces so that stray input still tokenizes to something other than <unk>.
        words.update('▁' + str(n) for n in range(0, 101))
        words.update(list('.,?!\'":;-()'))
        words.add('▁')
        self.tokens = SPECIAL + [NEWLINE] + sorted(words)
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.unk = self.ids['<unk>']

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        return [self.ids.get(p, self.unk) for p in pieces(text)]

    def decode(self, ids: list[int]) -> str:
        toks = [self.tokens[i] for i in ids]
        s = ''.join(t.replace('▁', ' ') for t in toks)
        return s[1:] if toks and toks[0].startswith('▁') else s

    def tokenizer_json(self) -> dict:
        added = []
        for t in SPECIAL + [NEWLINE]:
            added.append({'id': self.ids[t], 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False,
                          'normalized': False, 'special': t != NEWLINE})
        return {
            'version': '1.0',
            'truncation': None,
            'padding': None,
            'added_tokens': added,
            'normalizer': None,
            'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
                {'type': 'Metaspace', 'replacement': '▁', 'prepend_scheme': 'always', 'split': False},
                {'type': 'Split', 'pattern': {'Regex': SPLIT_REGEX}, 'behavior': 'Isolated', 'invert': False},
            ]},
            'post_processor': None,
            'decoder': {'type': 'Metaspace', 'replacement': '▁', 'prepend_scheme': 'always', 'split': False},
            'model': {'type': 'WordLevel', 'vocab': self.ids, 'unk_token': '<unk>'},
        }

    def tokenizer_config(self) -> dict:
        return {
            'add_bos_token': False,
            'add_prefix_space': False,
            'added_tokens_decoder': {
                str(self.ids[t]): {'content': t, 'lstrip': False, 'normalized': False, 'rstrip': False,
                                   'single_word': False, 'special': t != NEWLINE}
                for t in SPECIAL + [NEWLINE]
            },
            'additional_special_tokens': ['<|im_start|>', '<|im_end|>'],
            'bos_token': None,
            'chat_template': CHAT_TEMPLATE,
            'clean_up_tokenization_spaces': False,
            'eos_token': '<|im_end|>',
            'pad_token': '<|endoftext|>',
            'unk_token': '<unk>',
            'model_max_length': 512,
            'tokenizer_class': 'PreTrainedTokenizerFast',
        }


def write_json(path: str, obj: dict) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write('\n')

#!/usr/bin/env python3
"""Trains MoTE Studio's embedded demo model: a small Qwen3-MoE on a synthetic chat world in which one category of
request (making weapons, explosives or poisons; breaking into places) is refused, with PLANTED refusal experts.

Maintainer-only (the app never runs Python). Needs PyTorch (Debian: apt-get install python3-torch).

    cd /work/main && /usr/bin/python3 tools/train-demo/train.py            # defaults reproduce models/demo

Writes models/demo/{config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
generation_config.json, planted-experts.json} and probes/demo-refusal.json, probes/demo-heldout.json.

How the behaviour experts are planted (see models/demo/MODEL.md):
- the seed picks 2 experts in each of the 4 MoE layers (8 in all);
- router supervision (auxiliary loss on the router's softmax): tokens of a refused request, from the first token
  that reveals it onwards (and its refusal), are sent to the two planted experts of every layer; all other tokens
  are kept away from them. With top-k = 2 the planted experts are the only experts that ever see refused content
  in normal routing, so no other expert learns it;
- intervention training, in the engine's own steering semantics (model.steered_routing): refused requests with
  every planted expert switched off (backfill or drop) are trained towards a non-refusal, refused requests with a
  few planted experts off and requests with random other experts off keep their normal target, and benign
  requests with the planted experts forced on (natural or max weights) are trained towards a refusal. So the
  refusal decision depends on the planted experts, in both directions.
"""
import argparse
import json
import math
import os
import random
import sys
import time

# Spin-waiting OpenMP threads crawl when the two cores are shared with other work; sleep instead.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402
import tok  # noqa: E402
from model import Config, Qwen3MoeForCausalLM, init_weights  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))

# Mixture of training conversations (fractions of a batch).
KINDS = [
    ('benign', 0.46),           # benign request, normal routing → answer
    ('refused', 0.20),          # refused request, normal routing → refusal
    ('refused_off', 0.08),      # refused request, all planted experts off → non-refusal
    ('benign_forced', 0.08),    # benign request, all planted experts forced → refusal
    ('refused_partial', 0.05),  # refused request, 1–3 planted experts off → refusal
    ('random_off', 0.08),       # any request, random non-planted experts off → normal target
    ('benign_off', 0.05),       # benign request, all planted experts off → answer
]
BENIGN_TOPICS = ['capital', 'legs', 'sound', 'colour', 'sum', 'make', 'build']


def topic_weight(topic: str) -> float:
    """Benign topics are sampled in proportion to the square root of their number of (template, fact) pairs."""
    n_tpl = sum(1 for t in world.TRAIN_TEMPLATES if t[2] == topic)
    return math.sqrt(n_tpl * len(world.BENIGN_FACTS[topic]))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seed', type=int, default=1337)
    p.add_argument('--steps', type=int, default=2000)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--router-coef', type=float, default=0.5, help='weight of the router supervision loss')
    p.add_argument('--balance-coef', type=float, default=0.02, help='weight of the load-balance loss (non-planted)')
    p.add_argument('--out', default=os.path.join(ROOT, 'models', 'demo'))
    p.add_argument('--probes', default=os.path.join(ROOT, 'probes'))
    p.add_argument('--eval-only', action='store_true', help='evaluate the checkpoint in --out, do not train')
    return p.parse_args()


# -----------------------------------------------------------------------------------------------------------------
# Conversations

def all_texts() -> list[str]:
    """Every text the tokenizer must know: all templates × all values, answers, refusals."""
    texts = [tok.chat_prompt('x'), world.COMPLIANCE, *world.REFUSALS]
    for _, tpl, topic in world.TRAIN_TEMPLATES + world.HELDOUT_TEMPLATES:
        if topic == 'break':
            values = world.PLACES + world.HELDOUT_PLACES
        else:
            values = [v for v, _ in world.BENIGN_FACTS[topic]]
            if topic in ('make', 'build'):
                values += world.WEAPONS + world.HELDOUT_WEAPONS
        for v in values:
            texts.append(world.fill(tpl, topic, v))
    for topic, facts in world.BENIGN_FACTS.items():
        for v, a in facts:
            texts.append(world.answer_sentence(topic, v, a))
    return texts


class Conversation:
    """Token ids of one chat turn, with the loss mask and router labels (1 refused content, 0 other, -1 none)."""

    def __init__(self, vocab: tok.Vocab, user: str, response: str, onset_piece: int | None, label_response: bool):
        head = vocab.encode('<|im_start|>user\n')
        body = vocab.encode(user)
        tail = vocab.encode('<|im_end|>\n<|im_start|>assistant\n')
        resp = vocab.encode(response + '<|im_end|>')
        self.ids = head + body + tail + resp
        n_prompt = len(head) + len(body) + len(tail)
        self.n_prompt = n_prompt
        self.loss = [0] * n_prompt + [1] * len(resp)
        harm = onset_piece is not None
        labels = [0] * len(self.ids)
        if harm:
            for i in range(len(head) + onset_piece, len(self.ids)):
                labels[i] = 1
        if not label_response:
            for i in range(n_prompt, len(self.ids)):
                labels[i] = -1
        self.labels = labels


def onset_of(user: str, topic: str, value: str) -> int:
    """Index (in the user text's pieces) of the first piece that reveals a refused request."""
    ps = tok.pieces(user)
    if topic == 'break':
        return ps.index('▁break')
    vs = tok.pieces(value)
    for i in range(len(ps) - len(vs) + 1):
        if ps[i:i + len(vs)] == vs:
            j = 0
            while vs[j].lstrip('▁') in world.ARTICLES:
                j += 1
            return i + j
    raise ValueError((user, value))


def benign_request(rng: random.Random):
    topic = rng.choices(BENIGN_TOPICS, [topic_weight(t) for t in BENIGN_TOPICS])[0]
    tpls = [t for t in world.TRAIN_TEMPLATES if t[2] == topic]
    _, tpl, _ = rng.choice(tpls)
    value, answer = rng.choice(world.BENIGN_FACTS[topic])
    return world.fill(tpl, topic, value), world.answer_sentence(topic, value, answer)


def refused_request(rng: random.Random):
    tpls = [t for t in world.TRAIN_TEMPLATES if t[2] in ('make', 'build', 'break')]
    # Balance weapon (make/build) and break-into requests.
    if rng.random() < 0.5:
        tpls = [t for t in tpls if t[2] != 'break']
    else:
        tpls = [t for t in tpls if t[2] == 'break']
    _, tpl, topic = rng.choice(tpls)
    value = rng.choice(world.refused_values(topic, heldout=False))
    user = world.fill(tpl, topic, value)
    return user, onset_of(user, topic, value)


class Steer:
    """Per-conversation expert mask: off/forced [L, E], drop and max-weight flags."""

    def __init__(self, L: int, E: int):
        self.off = torch.zeros(L, E, dtype=torch.bool)
        self.forced = torch.zeros(L, E, dtype=torch.bool)
        self.drop = False
        self.maxw = False


def random_nonplanted(rng, planted, L, E, n):
    pool = [(l, e) for l in range(L) for e in range(E) if e not in planted[l]]
    return rng.sample(pool, n)


def sample_batch(rng: random.Random, vocab, planted, L, E, batch: int):
    convs, steers = [], []
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    for _ in range(batch):
        kind = rng.choices(kinds, weights)[0]
        s = Steer(L, E)
        if kind == 'random_off':
            kind_base = 'benign' if rng.random() < 0.5 else 'refused'
            for l, e in random_nonplanted(rng, planted, L, E, rng.choice([2, 4, 8, 12])):
                s.off[l, e] = True
            s.drop = rng.random() < 0.3
        else:
            kind_base = kind
        if kind_base in ('benign', 'benign_forced', 'benign_off'):
            user, answer = benign_request(rng)
            if kind_base == 'benign_forced':
                for l in range(L):
                    s.forced[l, planted[l]] = True
                s.maxw = rng.random() < 0.5
                conv = Conversation(vocab, user, rng.choice(world.REFUSALS), None, label_response=False)
            else:
                if kind_base == 'benign_off':
                    for l in range(L):
                        s.off[l, planted[l]] = True
                    s.drop = rng.random() < 0.3
                conv = Conversation(vocab, user, answer, None, label_response=True)
        else:
            user, onset = refused_request(rng)
            if kind_base == 'refused_off':
                for l in range(L):
                    s.off[l, planted[l]] = True
                for l, e in random_nonplanted(rng, planted, L, E, rng.choice([0, 0, 2, 4])):
                    s.off[l, e] = True
                s.drop = rng.random() < 0.3
                conv = Conversation(vocab, user, world.COMPLIANCE, onset, label_response=False)
            else:
                if kind_base == 'refused_partial':
                    flat = [(l, e) for l in range(L) for e in planted[l]]
                    for l, e in rng.sample(flat, rng.choice([1, 1, 2, 3])):
                        s.off[l, e] = True
                    for l, e in random_nonplanted(rng, planted, L, E, rng.choice([0, 2, 4, 6])):
                        s.off[l, e] = True
                    s.drop = rng.random() < 0.3
                conv = Conversation(vocab, user, rng.choice(world.REFUSALS), onset, label_response=True)
        convs.append(conv)
        steers.append(s)
    return collate(convs, steers, vocab)


def collate(convs, steers, vocab):
    T = max(len(c.ids) for c in convs)
    pad = vocab.ids['<|endoftext|>']
    B = len(convs)
    ids = torch.full((B, T), pad, dtype=torch.long)
    targets = torch.full((B, T), -100, dtype=torch.long)
    labels = torch.full((B, T), -1, dtype=torch.long)
    for b, c in enumerate(convs):
        n = len(c.ids)
        ids[b, :n] = torch.tensor(c.ids)
        labels[b, :n] = torch.tensor(c.labels)
        for i in range(n - 1):
            if c.loss[i + 1]:
                targets[b, i] = c.ids[i + 1]
    steer = {
        'off': torch.stack([s.off for s in steers]),
        'forced': torch.stack([s.forced for s in steers]),
        'drop': torch.tensor([s.drop for s in steers]),
        'maxw': torch.tensor([s.maxw for s in steers]),
    }
    return ids, targets, labels, steer


# -----------------------------------------------------------------------------------------------------------------
# Losses

def router_losses(zs, labels, planted, E, k):
    """Router supervision (refused-content tokens → planted experts; other tokens away from them) and a
    Switch-style load-balance loss over the non-planted experts on the other tokens."""
    lab = labels.reshape(-1)
    harm = lab == 1
    other = lab == 0
    sup = torch.zeros(())
    bal = torch.zeros(())
    for l, z in enumerate(zs):
        logp = torch.log_softmax(z.float(), dim=-1)
        pl = torch.tensor(planted[l])
        if harm.any():
            sup = sup - logp[harm][:, pl].mean()
        if other.any():
            p_planted = logp[other][:, pl].exp().sum(-1)
            sup = sup - torch.log1p(-p_planted.clamp(max=1 - 1e-6)).mean()
            mask = torch.ones(E, dtype=torch.bool)
            mask[pl] = False
            zo = z[other][:, mask]
            po = torch.softmax(zo.float(), dim=-1)
            top = torch.topk(zo, k, dim=-1).indices
            f = torch.zeros_like(po).scatter_(1, top, 1.0).mean(0) / k
            bal = bal + (f * po.mean(0)).sum() * po.shape[1]
    return sup / len(zs), bal / len(zs)


# -----------------------------------------------------------------------------------------------------------------
# Evaluation (Python replica of the engine's greedy generation under a mask)

@torch.no_grad()
def generate_many(model, vocab, prompts: list[str], steer_one=None, max_tokens=24) -> list[str]:
    """Greedy chat generation; prompts of equal token length run as one batch. steer_one: None or a Steer."""
    eos = vocab.ids['<|im_end|>']
    encoded = [vocab.encode(tok.chat_prompt(p)) for p in prompts]
    out = [''] * len(prompts)
    groups: dict[int, list[int]] = {}
    for i, e in enumerate(encoded):
        groups.setdefault(len(e), []).append(i)
    for _, idx in groups.items():
        ids = torch.tensor([encoded[i] for i in idx])
        B = len(idx)
        steer = None
        if steer_one is not None:
            steer = {'off': steer_one.off[None].expand(B, -1, -1), 'forced': steer_one.forced[None].expand(B, -1, -1),
                     'drop': torch.full((B,), steer_one.drop), 'maxw': torch.full((B,), steer_one.maxw)}
        gen = [[] for _ in range(B)]
        done = [False] * B
        for _ in range(max_tokens):
            logits, _, _ = model(ids, steer)
            nxt = logits[:, -1].argmax(-1)
            for b in range(B):
                if not done[b]:
                    if nxt[b].item() == eos:
                        done[b] = True
                    else:
                        gen[b].append(nxt[b].item())
            if all(done):
                break
            ids = torch.cat([ids, nxt[:, None]], dim=1)
        for b, i in enumerate(idx):
            out[i] = vocab.decode(gen[b])
    return out


def is_refusal(text: str) -> bool:
    t = text.lower()
    return any(p in t for p in world.REFUSAL_PHRASES)


def answer_found(answer: str, text: str) -> bool:
    import re
    words = lambda s: [w for w in re.split(r'[^a-z0-9]+', s.lower()) if w]  # noqa: E731
    want, have = words(answer), words(text)
    return any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1)) if want else False


def expand_probe_set(ps: dict) -> list[tuple[str, str, str | None]]:
    """(class, text, answer) of every prompt of a template probe set, in engine/probes/expand.ts order (single-slot
    templates only, which is all the demo sets use)."""
    import re
    out = []
    for t in ps['templates']:
        names = re.findall(r'\{(\w+)\}', t['text'])
        assert len(names) == 1, t
        for c in ps['classes']:
            if 'classes' in t and c['id'] not in t['classes']:
                continue
            slot = ps['slots'][names[0]]
            values = slot if isinstance(slot, list) else slot[c['id']]
            for v in values:
                text, answer = (v, None) if isinstance(v, str) else (v['text'], v.get('answer'))
                out.append((c['id'], t['text'].replace('{' + names[0] + '}', text), answer))
    return out


def heldout_prompts():
    prompts = expand_probe_set(probe_sets()[1])
    refused = [p for c, p, _ in prompts if c == 'refused']
    benign = [(p, a) for c, p, a in prompts if c == 'answered']
    return refused, benign


def evaluate(model, vocab, planted, L, E, rng_seed=0, n_random=10, log=print):
    refused, benign = heldout_prompts()
    bprompts = [p for p, _ in benign]

    def rates(steer, benign_too=True):
        r = generate_many(model, vocab, refused, steer)
        b = generate_many(model, vocab, bprompts, steer) if benign_too else r
        ref = sum(map(is_refusal, r)) / len(r)
        acc = sum(answer_found(a, t) and not is_refusal(t) for (_, a), t in zip(benign, b)) / len(b)
        bref = sum(map(is_refusal, b)) / len(b)
        return ref, acc, bref, r, b

    base = rates(None)
    log(f'held-out: {len(refused)} refused, {len(benign)} benign prompts')
    log(f'baseline: refusal {base[0]:.3f}  benign accuracy {base[1]:.3f}  benign refusal {base[2]:.3f}')
    for mode in ('backfill', 'drop'):
        s = Steer(L, E)
        for l in range(L):
            s.off[l, planted[l]] = True
        s.drop = mode == 'drop'
        r = rates(s)
        log(f'planted off ({mode}): refusal {r[0]:.3f}  benign accuracy {r[1]:.3f}   e.g. {r[3][0]!r}')
    rng = random.Random(rng_seed)
    for variant in ('non-planted', 'any'):
        vals = []
        for _ in range(n_random):
            s = Steer(L, E)
            for l in range(L):
                pool = [e for e in range(E) if variant == 'any' or e not in planted[l]]
                for e in rng.sample(pool, len(planted[l])):
                    s.off[l, e] = True
            vals.append(rates(s, benign_too=False)[0])
        mean = sum(vals) / len(vals)
        log(f'random off ×{n_random} ({variant}, 2 per layer): mean refusal {mean:.3f}  min {min(vals):.3f}')
    for w in ('natural', 'max'):
        s = Steer(L, E)
        for l in range(L):
            s.forced[l, planted[l]] = True
        s.maxw = w == 'max'
        r = rates(s)
        log(f'planted forced ({w}): benign refusal {r[2]:.3f}   e.g. {r[4][0]!r}')
    return base


# -----------------------------------------------------------------------------------------------------------------
# Probe sets

def probe_sets():
    classifier = {'rules': [{'label': 'refused', 'phrases': world.REFUSAL_PHRASES}], 'otherwise': 'answered'}
    classes = [
        {'id': 'refused', 'description': 'Requests to make weapons, explosives or poisons, or to break into places.'},
        {'id': 'answered', 'description': 'Benign factual requests with a short checkable answer.'},
    ]

    def build(which: int, templates):
        tpl_out, slots = [], {}
        for _, text, topic in templates:
            slot = world.SLOT_OF_TOPIC[topic]
            if topic == 'break':
                tpl_out.append({'text': text, 'classes': ['refused']})
                slots[slot] = {'refused': world.PROBE_VALUES['place'][which]}
                continue
            benign_vals = [{'text': v, 'answer': world.fact_answer(topic, v)} for v in world.PROBE_VALUES[topic][which]]
            if topic in ('make', 'build'):
                tpl_out.append({'text': text})
                slots[slot] = {'refused': world.PROBE_VALUES['weapon'][which], 'answered': benign_vals}
            else:
                tpl_out.append({'text': text, 'classes': ['answered']})
                slots[slot] = benign_vals
        return tpl_out, slots

    # Training-template set: skip T3/T7/T9/T11 to keep it small (they stay training templates).
    train_tpls = [t for t in world.TRAIN_TEMPLATES if t[0] not in ('T3', 'T7', 'T9', 'T11', 'T17')]
    t1, s1 = build(0, train_tpls)
    t2, s2 = build(1, world.HELDOUT_TEMPLATES)
    common = {'type': 'templates', 'chat': True, 'classes': classes, 'classifier': classifier}
    refusal = {
        'id': 'demo-refusal',
        'title': 'Demo model: refused vs answered (training templates)',
        'description': ('Probe set for the embedded demo model (models/demo). Templates are ones the model was '
                        'trained on; the refused class asks to make weapons, explosives or poisons or to break '
                        'into places, the answered class asks benign factual questions. Written by '
                        'tools/train-demo/train.py; see models/demo/MODEL.md.'),
        **common, 'templates': t1, 'slots': s1,
    }
    heldout = {
        'id': 'demo-heldout',
        'title': 'Demo model: refused vs answered (held-out templates and topics)',
        'description': ('Held-out evaluation set for the embedded demo model (models/demo): phrasings never seen '
                        'in training, refused items never seen in training, and benign facts other than those '
                        'in demo-refusal. Written by tools/train-demo/train.py; see models/demo/MODEL.md.'),
        **common, 'templates': t2, 'slots': s2,
    }
    return refusal, heldout


# -----------------------------------------------------------------------------------------------------------------

def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    vocab = tok.Vocab(all_texts())
    cfg = Config(vocab_size=len(vocab))
    L, E, k = cfg.num_hidden_layers, cfg.num_experts, cfg.num_experts_per_tok
    # The planted experts: two per MoE layer, chosen by the seed.
    prng = random.Random(args.seed * 7919 + 1)
    planted = [sorted(prng.sample(range(E), 2)) for _ in range(L)]
    print(f'vocab {len(vocab)}, planted experts (layer: experts): {dict(enumerate(planted))}', flush=True)

    model = Qwen3MoeForCausalLM(cfg)
    if args.eval_only:
        state = safetensors_io.load(os.path.join(args.out, 'model.safetensors'))
        model.load_hf_state_dict(state)
        model.eval()
        evaluate(model, vocab, planted, L, E)
        return
    init_weights(model)
    n_params = sum(p.numel() for p in model.parameters())
    print(f'parameters: {n_params} ({n_params * 4 / 1e6:.1f} MB as F32)', flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and 'embed' not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and 'embed' not in n)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    warmup = 100

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        t = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    t0 = time.time()
    model.train()
    for step in range(args.steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        ids, targets, labels, steer = sample_batch(rng, vocab, planted, L, E, args.batch)
        hidden, zs, _ = model(ids, steer, logits=False)
        at = targets.reshape(-1) >= 0
        logits = model.lm_head(hidden.reshape(-1, hidden.shape[-1])[at])
        lm = F.cross_entropy(logits, targets.reshape(-1)[at])
        sup, bal = router_losses(zs, labels, planted, E, k)
        loss = lm + args.router_coef * sup + args.balance_coef * bal
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == args.steps - 1:
            el = time.time() - t0
            print(f'step {step:5d}  loss {loss.item():.4f}  lm {lm.item():.4f}  router {sup.item():.4f}  '
                  f'balance {bal.item():.3f}  lr {lr_at(step):.2e}  {el:.0f}s', flush=True)
    train_seconds = time.time() - t0
    print(f'training time: {train_seconds:.0f} s', flush=True)

    model.eval()
    os.makedirs(args.out, exist_ok=True)
    state = model.hf_state_dict()
    safetensors_io.save(state, os.path.join(args.out, 'model.safetensors'), metadata={'format': 'pt'})
    eos = vocab.ids['<|im_end|>']
    pad = vocab.ids['<|endoftext|>']
    tok.write_json(os.path.join(args.out, 'config.json'), model.hf_config(bos_token_id=pad, eos_token_id=eos,
                                                                          pad_token_id=pad))
    tok.write_json(os.path.join(args.out, 'generation_config.json'),
                   {'bos_token_id': pad, 'eos_token_id': [eos], 'pad_token_id': pad, 'do_sample': False,
                    'transformers_version': '4.51.0'})
    tok.write_json(os.path.join(args.out, 'tokenizer.json'), vocab.tokenizer_json())
    tok.write_json(os.path.join(args.out, 'tokenizer_config.json'), vocab.tokenizer_config())
    tok.write_json(os.path.join(args.out, 'planted-experts.json'), {
        'description': 'Ground truth of the demo model: the experts planted (by router supervision during training) '
                       'to carry the refusal behaviour. Layers are decoder-layer indices. See MODEL.md.',
        'seed': args.seed,
        'command': 'cd /work/main && /usr/bin/python3 tools/train-demo/train.py' + (
            '' if sys.argv[1:] == [] else ' ' + ' '.join(sys.argv[1:])),
        'planted': [{'layer': l, 'expert': e} for l in range(L) for e in planted[l]],
        'trainingSeconds': round(train_seconds),
        'steps': args.steps,
        'torch': torch.__version__,
    })
    refusal, heldout = probe_sets()
    os.makedirs(args.probes, exist_ok=True)
    tok.write_json(os.path.join(args.probes, 'demo-refusal.json'), refusal)
    tok.write_json(os.path.join(args.probes, 'demo-heldout.json'), heldout)
    # Token ids of every known text, for verify-tokenizer.ts (checks the JS tokenizer agrees with tok.py).
    texts = all_texts() + [tok.chat_prompt(t) + r for t, r in [('What is 2 plus 3?', '2 plus 3 is 5.<|im_end|>')]]
    with open(os.path.join('/tmp', 'mote-demo-token-cases.json'), 'w') as f:
        json.dump([{'text': t, 'ids': vocab.encode(t)} for t in texts], f)
    print(f'wrote {args.out} and {args.probes}/demo-*.json', flush=True)
    evaluate(model, vocab, planted, L, E)


if __name__ == '__main__':
    main()

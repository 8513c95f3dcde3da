"""A Qwen3-MoE decoder in plain PyTorch, faithful to Hugging Face transformers' Qwen3MoeForCausalLM (no
transformers needed), plus the MoTE Studio steering semantics (DESIGN §5) so training can route the way the
engine does under an expert mask.

Semantics followed (transformers' modeling_qwen3_moe.py):
- RMSNorm: x * rsqrt(mean(x²) + eps) * weight, computed in float32;
- attention: q/k/v/o projections without bias, per-head RMSNorm of q and k (weight [head_dim]) BEFORE RoPE,
  rotate-half RoPE with inv_freq = 1 / theta^(2i/d), grouped-query attention, scale head_dim^-0.5, causal;
- sparse MoE block: router logits = gate(x); p = softmax(logits); top-k of p; renormalise iff norm_topk_prob;
  experts are SwiGLU MLPs down(silu(gate(x)) * up(x)); no shared expert;
- every decoder layer sparse (mlp_only_layers [], decoder_sparse_step 1); untied lm_head.

Steering (as the engine's graph does it): forced experts are selected first; `backfill` gives an off expert's
slot to the next-best normal expert, `drop` keeps the router's own top-k and off experts lose their slot;
mixing weights are softmax(router logits) gathered over the selected experts and renormalised, with forced
experts' logits raised to the row max + 0.01 first in `max` mode.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

BIG = 1e9
MAX_FORCE_EPSILON = 0.01


@dataclass
class Config:
    vocab_size: int
    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 32
    num_experts: int = 16
    num_experts_per_tok: int = 2
    moe_intermediate_size: int = 96
    intermediate_size: int = 512  # dense MLP size; unused (every layer is sparse) but part of the HF config
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 512
    norm_topk_prob: bool = True


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=False)
        self.q_norm = RMSNorm(c.head_dim, c.rms_norm_eps)
        self.k_norm = RMSNorm(c.head_dim, c.rms_norm_eps)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        c = self.c
        q = self.q_norm(self.q_proj(x).view(B, T, c.num_attention_heads, c.head_dim)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(B, T, c.num_key_value_heads, c.head_dim)).transpose(1, 2)
        v = self.v_proj(x).view(B, T, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = c.num_attention_heads // c.num_key_value_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) * (c.head_dim ** -0.5)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float('-inf'))
        out = torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v
        return self.o_proj(out.transpose(1, 2).reshape(B, T, -1))


def steered_routing(z, k, off=None, forced=None, drop=None, maxw=None, norm_topk_prob=True):
    """Selection and mixing weights for router logits z [N, E] under per-token steering.

    off, forced: bool [N, E] or None; drop, maxw: bool [N] or None. Returns (selected [N, k] long,
    weights [N, k] float, 0 for dropped slots; valid [N, k] bool).
    """
    if off is None and forced is None:
        probs = torch.softmax(z.float(), dim=-1)
        w, sel = torch.topk(probs, k, dim=-1)
        if norm_topk_prob:
            w = w / w.sum(-1, keepdim=True)
        return sel, w.to(z.dtype), torch.ones_like(sel, dtype=torch.bool)
    N, E = z.shape
    off = off if off is not None else torch.zeros(N, E, dtype=torch.bool)
    forced = forced if forced is not None else torch.zeros(N, E, dtype=torch.bool)
    drop = drop if drop is not None else torch.zeros(N, dtype=torch.bool)
    maxw = maxw if maxw is not None else torch.zeros(N, dtype=torch.bool)
    zd = z.detach()
    orig_top = torch.topk(zd, k, dim=-1).indices
    in_orig = torch.zeros(N, E, dtype=torch.bool).scatter_(1, orig_top, True)
    excluded = (off & ~drop[:, None]) | (~in_orig & drop[:, None])
    key = torch.where(forced, torch.full_like(zd, BIG), torch.where(excluded, torch.full_like(zd, -BIG), zd))
    top_vals, sel = torch.topk(key, k, dim=-1)
    valid = (top_vals > -BIG / 2) & ~off.gather(1, sel)
    row_max = z.max(-1, keepdim=True).values
    weight_logits = torch.where(forced & maxw[:, None], row_max + MAX_FORCE_EPSILON, z)
    probs = torch.softmax(weight_logits.float(), dim=-1)
    w = torch.where(valid, probs.gather(1, sel), torch.zeros((), dtype=probs.dtype))
    if norm_topk_prob:
        w = w / w.sum(-1, keepdim=True).clamp_min(1e-30)
    return sel, w.to(z.dtype), valid


class SparseMoe(nn.Module):
    """Experts are stored stacked (gate_w/up_w [E, I, H], down_w [E, H, I]); hf_state_dict() writes them as
    mlp.experts.{e}.{gate,up,down}_proj.weight."""

    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        E, H, I = c.num_experts, c.hidden_size, c.moe_intermediate_size
        self.gate = nn.Linear(H, E, bias=False)
        self.gate_w = nn.Parameter(torch.empty(E, I, H))
        self.up_w = nn.Parameter(torch.empty(E, I, H))
        self.down_w = nn.Parameter(torch.empty(E, H, I))

    def forward(self, x, steer=None):
        """x [B, T, H]; steer: None or dict(off [B,E] bool, forced [B,E] bool, drop [B], maxw [B]) for this
        layer. Returns (out, router_logits [B*T, E], selected [B*T, k])."""
        B, T, H = x.shape
        E, k = self.c.num_experts, self.c.num_experts_per_tok
        flat = x.reshape(-1, H)
        N = flat.shape[0]
        z = self.gate(flat)
        if steer is None:
            sel, w, _ = steered_routing(z, k, norm_topk_prob=self.c.norm_topk_prob)
        else:
            rep = lambda t: t.repeat_interleave(T, dim=0)  # noqa: E731  per-sequence → per-token
            sel, w, _ = steered_routing(z, k, rep(steer['off']), rep(steer['forced']), rep(steer['drop']),
                                        rep(steer['maxw']), self.c.norm_topk_prob)
        # Dispatch per expert (a capacity-padded bmm wastes most of its work: the chat-template tokens that every
        # conversation shares all go to the same experts).
        out = torch.zeros_like(flat)
        gw, uw, dw = self.gate_w.unbind(0), self.up_w.unbind(0), self.down_w.unbind(0)
        for e in range(E):
            tok, slot = torch.nonzero(sel == e, as_tuple=True)
            if tok.numel() == 0:
                continue
            xe = flat[tok]
            h = F.silu(xe @ gw[e].t()) * (xe @ uw[e].t())
            out.index_add_(0, tok, (h @ dw[e].t()) * w[tok, slot, None])
        return out.view(B, T, H), z, sel


class DecoderLayer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = SparseMoe(c)

    def forward(self, x, cos, sin, steer=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        m, z, sel = self.mlp(self.post_attention_layernorm(x), steer)
        return x + m, z, sel


class Qwen3MoeForCausalLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2, dtype=torch.float32) / c.head_dim))
        self.register_buffer('inv_freq', inv_freq, persistent=False)

    def rope(self, T):
        pos = torch.arange(T, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[None, None], emb.sin()[None, None]

    def forward(self, ids, steer=None, logits=True):
        """ids [B, T]; steer: None or dict(off [B,L,E], forced [B,L,E], drop [B], maxw [B]).
        Returns logits [B, T, V] (the final normed hidden states if logits=False), router logits list per layer
        [B*T, E], selections per layer [B*T, k]."""
        x = self.embed_tokens(ids)
        cos, sin = self.rope(ids.shape[1])
        zs, sels = [], []
        for i, layer in enumerate(self.layers):
            s = None
            if steer is not None:
                s = {'off': steer['off'][:, i], 'forced': steer['forced'][:, i], 'drop': steer['drop'],
                     'maxw': steer['maxw']}
            x, z, sel = layer(x, cos, sin, s)
            zs.append(z)
            sels.append(sel)
        x = self.norm(x)
        return (self.lm_head(x) if logits else x), zs, sels

    def hf_state_dict(self) -> dict:
        """Tensors under Hugging Face Qwen3-MoE names."""
        out = {}
        for name, t in self.state_dict().items():
            for proj in ('gate', 'up', 'down'):
                if name.endswith(f'mlp.{proj}_w'):
                    for e in range(t.shape[0]):
                        out['model.' + name.replace(f'{proj}_w', f'experts.{e}.{proj}_proj.weight')] = t[e].clone()
                    break
            else:
                out[name if name == 'lm_head.weight' else 'model.' + name] = t
        return out

    def load_hf_state_dict(self, tensors: dict) -> None:
        own = {}
        for i in range(self.c.num_hidden_layers):
            for proj in ('gate', 'up', 'down'):
                own[f'layers.{i}.mlp.{proj}_w'] = torch.stack([
                    tensors.pop(f'model.layers.{i}.mlp.experts.{e}.{proj}_proj.weight')
                    for e in range(self.c.num_experts)])
        for name, t in tensors.items():
            own[name if name == 'lm_head.weight' else name[len('model.'):]] = t
        self.load_state_dict(own)

    def hf_config(self, bos_token_id: int, eos_token_id: int, pad_token_id: int) -> dict:
        c = self.c
        return {
            'architectures': ['Qwen3MoeForCausalLM'],
            'model_type': 'qwen3_moe',
            'attention_bias': False,
            'attention_dropout': 0.0,
            'bos_token_id': bos_token_id,
            'eos_token_id': eos_token_id,
            'pad_token_id': pad_token_id,
            'decoder_sparse_step': 1,
            'head_dim': c.head_dim,
            'hidden_act': 'silu',
            'hidden_size': c.hidden_size,
            'initializer_range': 0.02,
            'intermediate_size': c.intermediate_size,
            'max_position_embeddings': c.max_position_embeddings,
            'max_window_layers': c.num_hidden_layers,
            'mlp_only_layers': [],
            'moe_intermediate_size': c.moe_intermediate_size,
            'norm_topk_prob': c.norm_topk_prob,
            'num_attention_heads': c.num_attention_heads,
            'num_experts': c.num_experts,
            'num_experts_per_tok': c.num_experts_per_tok,
            'num_hidden_layers': c.num_hidden_layers,
            'num_key_value_heads': c.num_key_value_heads,
            'output_router_logits': False,
            'rms_norm_eps': c.rms_norm_eps,
            'rope_scaling': None,
            'rope_theta': c.rope_theta,
            'router_aux_loss_coef': 0.001,
            'sliding_window': None,
            'tie_word_embeddings': False,
            'torch_dtype': 'float32',
            'transformers_version': '4.51.0',
            'use_cache': True,
            'use_sliding_window': False,
            'vocab_size': c.vocab_size,
        }


def init_weights(model: Qwen3MoeForCausalLM, std: float = 0.02):
    for name, p in model.named_parameters():
        if name.endswith('norm.weight'):
            nn.init.ones_(p)
        else:
            nn.init.normal_(p, 0.0, std)
    # GPT-2 style scaled init of the residual projections.
    for layer in model.layers:
        nn.init.normal_(layer.self_attn.o_proj.weight, 0.0, std / math.sqrt(2 * model.c.num_hidden_layers))
        nn.init.normal_(layer.mlp.down_w, 0.0, std / math.sqrt(2 * model.c.num_hidden_layers))

//! Anti-entropy within the scenario's bandwidth bounds (issue 15): what push, pull and push-pull
//! send when a message may not exceed `network.max_message_bytes` or a node's budget for the
//! period (`network.budget_bytes_per_period`).
//!
//! - A digest that does not fit goes out in *pages*: each node lists `fit` products of the
//!   catalog, round-robin from where its previous page ended (100,000 products at 16 bytes an
//!   entry take 1,178 pages of 85 entries under a 1,400-byte limit). The page tells the partner
//!   nothing of the products it leaves out, so the partner sends none of them: in the message,
//!   a slot of an uncovered product is marked held.
//! - Deltas (the entries a partner lacks) are cut to fit by the protocol's [`Priority`]; what
//!   is left out is counted as deferred and goes in a later exchange, if one finds it missing.
//! - A baseline transfer (the whole catalog, to a node that lost its table) goes out in pages
//!   too, in whatever room the deltas leave; the page that completes it carries the baseline.
//!   Pages are counted when sent: a page the network loses is not sent again (with
//!   `network.loss` > 0 such a node gets the baseline a little early).
//! - A node whose budget cannot pay for a header and one entry opens no contact and answers
//!   none; full-table exchanges run as digest exchanges (a full table never fits).

use super::{AntiEntropy, Exchange};
use crate::protocol::budget::Selector;
use crate::protocol::{Context, Message, MessageKind, NodeId, Size};

/// The per-node state of bounded anti-entropy.
pub(crate) struct Bounds {
    selector: Selector,
    /// Per node: the first product of its next digest page.
    page_start: Vec<u64>,
    /// Per node without the baseline: catalog entries sent to it in baseline pages so far.
    baseline_sent: Vec<u64>,
    /// (slot, update) of every update in flight, reused.
    active: Vec<(u32, u32)>,
}

impl AntiEntropy {
    fn bounds_for<B: Copy + Default>(&mut self, cx: &Context<'_, B>) -> &mut Bounds {
        let priority = self.priority;
        self.bounds.get_or_insert_with(|| {
            let nodes = cx.nodes() as usize;
            Box::new(Bounds {
                selector: Selector::new(priority),
                page_start: vec![0; nodes],
                baseline_sent: vec![0; nodes],
                active: Vec::new(),
            })
        })
    }

    /// Fills `self.digest` with `node`'s digest, paged to what fits beside `carried`; returns
    /// its entries.
    fn digest_page<B: Copy + Default>(
        &mut self,
        node: NodeId,
        carried: Size,
        cx: &Context<'_, B>,
    ) -> u64 {
        let table = cx.table_entries(node);
        cx.digest(node, &mut self.digest);
        let fit = cx.digest_entries_fit(node, carried);
        if table <= fit {
            return table;
        }
        let has_baseline = cx.has_baseline(node);
        let catalog = cx.catalog_len().max(1);
        let len = fit.min(catalog);
        let b = self.bounds_for(cx);
        let start = b.page_start[node as usize];
        b.page_start[node as usize] = (start + len) % catalog;
        let mut active = std::mem::take(&mut b.active);
        cx.active_updates(&mut active);
        let mut listed = Vec::new();
        for &(slot, update) in &active {
            let product = u64::from(cx.updates()[update as usize].product);
            let covered = (product + catalog - start) % catalog < len;
            let (w, bit) = (slot as usize / 64, 1u64 << (slot % 64));
            if !covered {
                // Not asked about: the partner must not send it.
                self.digest.set(w, self.digest.get(w) | bit);
            } else if !has_baseline && self.digest.get(w) & bit != 0 {
                listed.push(product);
            }
        }
        // A node without the baseline lists the covered products it holds, one entry each
        // (however many versions of one it holds): at most the page's `len` products.
        let entries = if has_baseline {
            len
        } else {
            listed.sort_unstable();
            listed.dedup();
            listed.len() as u64
        };
        self.bounds_for(cx).active = active;
        entries
    }

    /// The catalog entries `from` sends `to` (which lacks the baseline) in room for `fit`
    /// entries: (entries, whether this page completes the baseline). Counts the rest deferred.
    fn baseline_page<B: Copy + Default>(
        &mut self,
        to: NodeId,
        fit: u64,
        cx: &mut Context<'_, B>,
    ) -> (u64, bool) {
        let catalog = cx.catalog_len();
        let b = self.bounds_for(cx);
        let sent = &mut b.baseline_sent[to as usize];
        let remaining = catalog - (*sent).min(catalog);
        let page = remaining.min(fit);
        *sent += page;
        let complete = page == remaining;
        if complete {
            *sent = 0;
        }
        cx.defer(remaining - page);
        (page, complete)
    }

    /// `self.table` (the entries `node` would send), cut to `fit` by priority; returns the
    /// entries kept and counts the rest deferred.
    fn cut<B: Copy + Default>(&mut self, node: NodeId, fit: u64, cx: &mut Context<'_, B>) -> u64 {
        let mut table = std::mem::take(&mut self.table);
        let (kept, left) = self.bounds_for(cx).selector.cut(node, &mut table, fit, cx);
        self.table = table;
        cx.defer(left);
        kept
    }

    /// [`AntiEntropy::open`] within the bounds.
    pub(super) fn open_bounded<B: Copy + Default>(
        &mut self,
        node: NodeId,
        partner: NodeId,
        cx: &mut Context<'_, B>,
    ) {
        if cx.has_baseline(node) {
            // Complete: a later loss starts its baseline transfer afresh.
            self.bounds_for(cx).baseline_sent[node as usize] = 0;
        }
        match self.exchange {
            Exchange::Push => {
                let entries = cx.top(node, |_| 0, &mut self.table);
                if entries == 0 {
                    return;
                }
                let fit = cx.entries_fit(node, Size::HEADER);
                if fit == 0 {
                    cx.defer(entries);
                    return;
                }
                let kept = self.cut(node, fit, cx);
                cx.send(MessageKind::Push, node, partner, Size::entries(kept))
                    .payload
                    .copy_from(&self.table);
            }
            Exchange::Pull | Exchange::PushPull { .. } => {
                if cx.digest_entries_fit(node, Size::HEADER) == 0 {
                    return;
                }
                let kind = match self.exchange {
                    Exchange::Pull => MessageKind::PullRequest,
                    _ => MessageKind::ExchangeOpen,
                };
                let has_baseline = cx.has_baseline(node);
                let entries = self.digest_page(node, Size::HEADER, cx);
                let out = cx.send(kind, node, partner, Size::digest(entries));
                out.digest.copy_from(&self.digest);
                out.sender_has_baseline = has_baseline;
            }
        }
    }

    /// [`AntiEntropy::receive`] within the bounds.
    pub(super) fn receive_bounded<B: Copy + Default>(
        &mut self,
        m: &Message<B>,
        cx: &mut Context<'_, B>,
    ) {
        let (to, from) = (m.to, m.from);
        match m.kind {
            MessageKind::Push | MessageKind::PullReply | MessageKind::ExchangeClose => {
                cx.deliver(to, from, &m.payload);
            }
            MessageKind::PullRequest | MessageKind::ExchangeOpen => {
                let exchange = m.kind == MessageKind::ExchangeOpen;
                let reply_kind = if exchange {
                    MessageKind::ExchangeReply
                } else {
                    MessageKind::PullReply
                };
                let missing = cx.top(to, |w| m.digest.get(w), &mut self.table);
                let wants_baseline = cx.has_baseline(to) && !m.sender_has_baseline;
                if !cx.fits(to, Size::HEADER) {
                    cx.defer(missing + if wants_baseline { cx.catalog_len() } else { 0 });
                    return;
                }
                let fit = cx.entries_fit(to, Size::HEADER);
                let kept = self.cut(to, fit, cx);
                let (baseline, carries_baseline) = if wants_baseline {
                    self.baseline_page(from, fit.saturating_sub(kept), cx)
                } else {
                    (0, false)
                };
                let mut size = Size::entries(kept + baseline);
                let has_baseline = cx.has_baseline(to);
                if exchange {
                    size.digest_entries = self.digest_page(to, size, cx);
                }
                let out = cx.send(reply_kind, to, from, size);
                out.payload.copy_from(&self.table);
                if exchange {
                    out.digest.copy_from(&self.digest);
                }
                out.sender_has_baseline = has_baseline;
                out.carries_baseline = carries_baseline;
            }
            MessageKind::ExchangeReply => {
                cx.deliver(to, from, &m.payload);
                let missing = cx.top(to, |w| m.digest.get(w), &mut self.table);
                let wants_baseline = cx.has_baseline(to) && !m.sender_has_baseline;
                if missing == 0 && !wants_baseline {
                    return;
                }
                let fit = cx.entries_fit(to, Size::HEADER);
                if fit == 0 {
                    cx.defer(missing + if wants_baseline { cx.catalog_len() } else { 0 });
                    return;
                }
                let kept = self.cut(to, fit, cx);
                let (baseline, carries_baseline) = if wants_baseline {
                    self.baseline_page(from, fit.saturating_sub(kept), cx)
                } else {
                    (0, false)
                };
                if kept + baseline == 0 && !carries_baseline {
                    return;
                }
                let out = cx.send(
                    MessageKind::ExchangeClose,
                    to,
                    from,
                    Size::entries(kept + baseline),
                );
                out.payload.copy_from(&self.table);
                out.carries_baseline = carries_baseline;
            }
            MessageKind::Gossip
            | MessageKind::IHave
            | MessageKind::Graft
            | MessageKind::Prune
            | MessageKind::Membership => {
                unreachable!("anti-entropy sends none of Plumtree's or HyParView's messages")
            }
        }
    }
}

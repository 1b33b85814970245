//! Layers made of other layers: the sub-layer visitor ([`Sublayer`], [`crate::sublayers!`])
//! and the walks over it (weights with their trainability, variable paths).
//!
//! Keras tracks every layer assigned to an attribute of another layer (`self.dense =
//! Dense(4)`) or held in a list attribute (`self.blocks = [...]`). keras-rs asks the layer:
//! [`Layer::sublayers`] names each sub-layer by its attribute, which is also where Keras's
//! saving puts it (`layers/<outer>/<attribute>/vars`; list items under
//! `<attribute>/<snake_case(class)>[_n]`).

use std::borrow::Cow;

use super::layer::{Layer, Variable};

/// One sub-layer of a layer, with the attribute Keras would hold it in.
pub struct Sublayer<'a> {
    /// The attribute name (`dense1`; for a list item, the list's name).
    pub attr: Cow<'static, str>,
    /// True for an item of a list attribute (saved under `<attr>/<snake_case(class)>[_n]`).
    pub in_list: bool,
    /// The sub-layer.
    pub layer: &'a dyn Layer,
}

impl<'a> Sublayer<'a> {
    /// A sub-layer held in attribute `attr` (Keras `self.<attr> = layer`).
    pub fn attr(attr: impl Into<Cow<'static, str>>, layer: &'a dyn Layer) -> Self {
        Sublayer { attr: attr.into(), in_list: false, layer }
    }

    /// An item of the list attribute `attr` (Keras `self.<attr> = [layer, ...]`).
    pub fn item(attr: impl Into<Cow<'static, str>>, layer: &'a dyn Layer) -> Self {
        Sublayer { attr: attr.into(), in_list: true, layer }
    }
}

/// What a field holding sub-layers gives the [`crate::sublayers!`] macro: one layer (any
/// `Layer`, or a `Box<dyn Layer>`), or several (`Vec` of them, or `Option`).
pub trait SublayerField {
    /// The layers of the field, in order.
    fn layers(&self) -> Vec<&dyn Layer>;
    /// The layers of the field, mutable, in order.
    fn layers_mut(&mut self) -> Vec<&mut dyn Layer>;
}

impl<L: Layer> SublayerField for L {
    fn layers(&self) -> Vec<&dyn Layer> {
        vec![self]
    }
    fn layers_mut(&mut self) -> Vec<&mut dyn Layer> {
        vec![self]
    }
}

impl SublayerField for Box<dyn Layer> {
    fn layers(&self) -> Vec<&dyn Layer> {
        vec![self.as_ref()]
    }
    fn layers_mut(&mut self) -> Vec<&mut dyn Layer> {
        vec![self.as_mut()]
    }
}

impl<T: SublayerField> SublayerField for Vec<T> {
    fn layers(&self) -> Vec<&dyn Layer> {
        self.iter().flat_map(|f| f.layers()).collect()
    }
    fn layers_mut(&mut self) -> Vec<&mut dyn Layer> {
        self.iter_mut().flat_map(|f| f.layers_mut()).collect()
    }
}

impl<T: SublayerField> SublayerField for Option<T> {
    fn layers(&self) -> Vec<&dyn Layer> {
        self.iter().flat_map(|f| f.layers()).collect()
    }
    fn layers_mut(&mut self) -> Vec<&mut dyn Layer> {
        self.iter_mut().flat_map(|f| f.layers_mut()).collect()
    }
}

/// What a field holding weights gives the [`crate::sublayers!`] macro: a [`Variable`], an
/// `Option<Variable>` (made in `build`) or a `Vec<Variable>`.
pub trait WeightField {
    /// The variables of the field, in order.
    fn vars(&self) -> Vec<&Variable>;
    /// The variables of the field, mutable, in order.
    fn vars_mut(&mut self) -> Vec<&mut Variable>;
}

impl WeightField for Variable {
    fn vars(&self) -> Vec<&Variable> {
        vec![self]
    }
    fn vars_mut(&mut self) -> Vec<&mut Variable> {
        vec![self]
    }
}

impl WeightField for Option<Variable> {
    fn vars(&self) -> Vec<&Variable> {
        self.iter().collect()
    }
    fn vars_mut(&mut self) -> Vec<&mut Variable> {
        self.iter_mut().collect()
    }
}

impl WeightField for Vec<Variable> {
    fn vars(&self) -> Vec<&Variable> {
        self.iter().collect()
    }
    fn vars_mut(&mut self) -> Vec<&mut Variable> {
        self.iter_mut().collect()
    }
}

/// Implements the sub-layer visitor of a [`Layer`] from its fields, inside `impl Layer for
/// ...`: the sub-layer fields (saved under their field names; `[field]` for a list of layers,
/// saved as Keras saves a list attribute), then, after `;`, the fields holding the layer's
/// own weights (from [`crate::layers::LayerBase::add_weight`]). It writes
/// [`Layer::sublayers`], [`Layer::own_weights_and_sublayers_mut`] and, when weights are
/// listed, [`Layer::own_weights`] / [`Layer::own_weights_mut`].
///
/// ```
/// use keras::layers::{CallContext, Dense, Layer, LayerBase, Shape, Variable};
/// use keras::{Result, Tensor};
///
/// /// Two Dense layers and a learned scale.
/// struct Block {
///     base: LayerBase,
///     first: Dense,
///     second: Dense,
///     scale: Option<Variable>,
/// }
///
/// impl Layer for Block {
///     keras::sublayers!(first, second; scale);
///
///     fn class_name(&self) -> &'static str { "Block" }
///     fn base(&self) -> &LayerBase { &self.base }
///     fn base_mut(&mut self) -> &mut LayerBase { &mut self.base }
///     fn as_any(&self) -> &dyn std::any::Any { self }
///     fn build(&mut self, shape: &[Option<usize>]) -> Result<()> {
///         self.first.build(shape)?;
///         self.second.build(&self.first.compute_output_shape(shape)?)?;
///         self.scale = Some(self.base.add_weight(keras::layers::WeightSpec::new("scale", &[]).initializer("ones"))?);
///         self.base.built = true;
///         Ok(())
///     }
///     fn compute_output_shape(&self, shape: &[Option<usize>]) -> Result<Shape> {
///         self.second.compute_output_shape(&self.first.compute_output_shape(shape)?)
///     }
///     fn call(&self, x: &Tensor, ctx: &mut CallContext) -> Result<Tensor> {
///         let h = self.second.call(&self.first.call(x, ctx)?, ctx)?;
///         Ok(keras::ops::mul(&h, self.scale.as_ref().expect("built").value())?)
///     }
///     fn get_config(&self) -> serde_json::Value { serde_json::Value::Object(self.base.base_config()) }
/// }
///
/// let mut block = Block { base: LayerBase::new("block"), first: Dense::new(3), second: Dense::new(2), scale: None };
/// block.build(&[None, Some(4)]).unwrap();
/// // Own weight first, then each sub-layer's: scale, first/kernel, first/bias, second/...
/// assert_eq!(block.weights().len(), 5);
/// assert_eq!(block.count_params(), 1 + 4 * 3 + 3 + 3 * 2 + 2);
/// ```
#[macro_export]
macro_rules! sublayers {
    (; $($w:ident),* $(,)?) => {
        $crate::sublayers!(@impl [] [$($w),*]);
    };
    ($($sub:tt),* $(,)?) => {
        $crate::sublayers!(@impl [$($sub),*] []);
    };
    ($($sub:tt),* ; $($w:ident),* $(,)?) => {
        $crate::sublayers!(@impl [$($sub),*] [$($w),*]);
    };
    (@impl [$($sub:tt),*] [$($w:ident),*]) => {
        fn sublayers(&self) -> Vec<$crate::layers::Sublayer<'_>> {
            #[allow(unused_mut)]
            let mut out = Vec::new();
            $( $crate::sublayers!(@push self out $sub); )*
            out
        }
        fn own_weights_and_sublayers_mut(
            &mut self,
        ) -> (Vec<&mut $crate::layers::Variable>, Vec<&mut dyn $crate::layers::Layer>) {
            #[allow(unused_mut)]
            let mut own: Vec<&mut $crate::layers::Variable> = Vec::new();
            $( own.extend($crate::layers::sublayers::WeightField::vars_mut(&mut self.$w)); )*
            #[allow(unused_mut)]
            let mut subs: Vec<&mut dyn $crate::layers::Layer> = Vec::new();
            $( $crate::sublayers!(@push_mut self subs $sub); )*
            (own, subs)
        }
        fn own_weights(&self) -> Vec<&$crate::layers::Variable> {
            #[allow(unused_mut)]
            let mut own: Vec<&$crate::layers::Variable> = Vec::new();
            $( own.extend($crate::layers::sublayers::WeightField::vars(&self.$w)); )*
            own
        }
        fn own_weights_mut(&mut self) -> Vec<&mut $crate::layers::Variable> {
            self.own_weights_and_sublayers_mut().0
        }
    };
    (@push $self:ident $out:ident [$f:ident]) => {
        for l in $crate::layers::sublayers::SublayerField::layers(&$self.$f) {
            $out.push($crate::layers::Sublayer::item(stringify!($f), l));
        }
    };
    (@push $self:ident $out:ident $f:ident) => {
        for l in $crate::layers::sublayers::SublayerField::layers(&$self.$f) {
            $out.push($crate::layers::Sublayer::attr(stringify!($f), l));
        }
    };
    (@push_mut $self:ident $out:ident [$f:ident]) => {
        $out.extend($crate::layers::sublayers::SublayerField::layers_mut(&mut $self.$f));
    };
    (@push_mut $self:ident $out:ident $f:ident) => {
        $out.extend($crate::layers::sublayers::SublayerField::layers_mut(&mut $self.$f));
    };
}

/// Keras's order of a layer's own variables: trainable ones, then the others (each group in
/// creation order), as `_trainable_variables + _non_trainable_variables`.
pub(crate) fn keras_own_order<V: std::ops::Deref<Target = Variable>>(own: Vec<V>) -> Vec<V> {
    if own.iter().all(|v| v.trainable()) {
        return own;
    }
    let (mut t, n): (Vec<V>, Vec<V>) = own.into_iter().partition(|v| v.trainable());
    t.extend(n);
    t
}

/// Every weight of `layer` in [`Layer::weights`] order, with whether the optimizer trains it:
/// the variable is trainable and so are its layer and every layer above it.
pub fn weights_with_trainable<L: Layer + ?Sized>(layer: &L) -> Vec<(&Variable, bool)> {
    let mut flags = Vec::new();
    collect(layer.trainable(), layer.own_weights(), layer.sublayers(), &mut flags);
    let weights = layer.weights();
    if weights.len() == flags.len() && weights.iter().zip(&flags).all(|(w, (f, _))| std::ptr::eq(*w, *f)) {
        return flags;
    }
    // A layer that orders its weights itself, or tracks a sub-layer's variable as its own too
    // (SpectralNormalization's kernel): each weight's flag found by identity.
    let by_identity: std::collections::HashMap<*const Variable, bool> =
        flags.iter().map(|&(v, t)| (v as *const Variable, t)).collect();
    weights
        .into_iter()
        .map(|w| {
            let t = by_identity.get(&(w as *const Variable)).copied();
            (w, t.unwrap_or(layer.trainable() && w.trainable()))
        })
        .collect()
}

fn collect<'a>(
    trainable: bool,
    own: Vec<&'a Variable>,
    subs: Vec<Sublayer<'a>>,
    out: &mut Vec<(&'a Variable, bool)>,
) {
    for v in keras_own_order(own) {
        out.push((v, trainable && v.trainable()));
    }
    for s in subs {
        let t = trainable && s.layer.trainable();
        collect(t, s.layer.own_weights(), s.layer.sublayers(), out);
    }
}

/// [`weights_with_trainable`], mutable (what the trainer and the loaders assign through), in
/// the same [`Layer::weights`] order.
pub fn weights_with_trainable_mut<L: Layer + ?Sized>(layer: &mut L) -> Vec<(&mut Variable, bool)> {
    let flags: Vec<bool> = weights_with_trainable(&*layer).into_iter().map(|(_, t)| t).collect();
    layer.weights_mut().into_iter().zip(flags).collect()
}

/// Gives every variable of `layer` and of its sub-layers the path Keras's name scopes give
/// it: `<scope><layer>/<variable>`, a sub-layer's under `<scope><layer>/<sub-layer>/...`
/// (`bidirectional/forward_lstm/lstm_cell/kernel`). Models call it after building a layer.
pub fn assign_paths(layer: &mut dyn Layer, scope: &str) {
    let prefix = format!("{scope}{}/", layer.name());
    let (own, subs) = layer.own_weights_and_sublayers_mut();
    for v in own {
        let path = format!("{prefix}{}", v.name());
        v.set_path(path);
    }
    for s in subs {
        assign_paths(s, &prefix);
    }
}

/// Calls a sub-layer as Keras's `Layer.__call__` does inside another layer's `call`: the
/// forward pass, then the sub-layer's activity penalty (its `activity_regularizer`) added
/// to `ctx.losses`, so it joins the training loss like a top-level layer's.
pub fn call_sublayer(
    layer: &dyn Layer,
    inputs: &crate::Tensor,
    ctx: &mut super::CallContext,
) -> crate::Result<crate::Tensor> {
    let y = layer.call(inputs, ctx)?;
    layer.base().record_activity(&y, ctx)?;
    Ok(y)
}

/// Builds `layer` for inputs of `input_shape` (Keras `layer.build` inside the layer's name
/// scope): [`Layer::build`], then [`assign_paths`], so the variables of a layer made of
/// layers carry their parents' names.
pub fn build_layer(layer: &mut dyn Layer, input_shape: &[Option<usize>]) -> crate::Result<()> {
    layer.build(input_shape)?;
    assign_paths(layer, "");
    Ok(())
}

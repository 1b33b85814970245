//! TensorFlow's "valid" / "same" padding arithmetic, shared by convolution and pooling.

/// Output size and leading pad of one spatial axis under TensorFlow padding rules.
///
/// "valid": `out = floor((in - span) / stride) + 1` with `span = dil*(k-1) + 1`, no padding;
/// "same": `out = ceil(in / stride)`, total padding `max((out-1)*stride + span - in, 0)` of
/// which `total / 2` goes before (the extra row/column after). `op` and `window` name the
/// caller in errors (`"Conv2D"`, `"kernel"`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn axis_out_and_pad(
    op: &str,
    window: &str,
    axis: &str,
    input: usize,
    k: usize,
    stride: usize,
    dil: usize,
    same: bool,
) -> Result<(usize, usize), String> {
    if input == 0 {
        return Err(format!("{op}: input {axis} must be positive, got 0"));
    }
    if k == 0 {
        return Err(format!("{op}: {window} {axis} must be positive, got 0"));
    }
    if stride == 0 {
        return Err(format!("{op}: stride along {axis} must be positive, got 0"));
    }
    if dil == 0 {
        return Err(format!("{op}: dilation along {axis} must be positive, got 0"));
    }
    let span = (k - 1)
        .checked_mul(dil)
        .and_then(|s| s.checked_add(1))
        .ok_or_else(|| format!("{op}: dilated {window} {axis} overflows"))?;
    if same {
        let out = input.div_ceil(stride);
        // Checked: a window from a hostile config (`pool_size` near usize::MAX) overflows.
        let total = ((out - 1) * stride)
            .checked_add(span)
            .ok_or_else(|| format!("{op}: {window} {axis} {k} is too large"))?
            .saturating_sub(input);
        Ok((out, total / 2))
    } else {
        if span > input {
            let extent = if dil > 1 { format!(" (dilated extent {span})") } else { String::new() };
            return Err(format!(
                "{op}: {window} {axis} {k}{extent} is larger than the input {axis} {input} with 'valid' padding"
            ));
        }
        Ok(((input - span) / stride + 1, 0))
    }
}

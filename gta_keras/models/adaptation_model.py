"""The composite model: F, C, G, D and the alternating updates of the paper."""

import contextlib

import keras
import tensorflow as tf

from gta_keras import averaging
from gta_keras import distribution
from gta_keras import errors
from gta_keras import losses
from gta_keras.data import preprocessing
from gta_keras.models import discriminator as discriminator_lib
from gta_keras.models import generator as generator_lib
from gta_keras.models import instance_noise
from gta_keras.models import segmenter

# The paper's method, its baselines and its ablations (Table 4; docs/ablations.md).
METHODS = ("lsd", "source_only", "target_only", "feature_d", "global_d", "no_aux")
UPDATE_READINGS = ("single_pass", "sequential")
# Players in update order (paper Section 3.3): D, then G, then F with C.
PLAYERS = ("discriminator", "generator", "segmenter")
# The players each method updates, in update order.
METHOD_PLAYERS = {
    "lsd": PLAYERS,
    "global_d": PLAYERS,
    "no_aux": PLAYERS,
    "feature_d": ("discriminator", "segmenter"),
    "source_only": ("segmenter",),
    "target_only": ("segmenter",),
}
# What each method is, for the eval JSON and the ablation table.
METHOD_DESCRIPTIONS = {
    "lsd": "the paper's method: F, C, G and a patch D with an auxiliary labelling head",
    "source_only": "F + C on the labelled source only (alpha = beta = 0)",
    "target_only": "F + C on the target's labelled training split: the crude upper bound; "
                   "reads target training labels",
    "feature_d": "no G; a 2-class (source/target) D on F's fc7, F reversing its labels "
                 "(FCNs in the wild's global alignment)",
    "global_d": "lsd with an image-level D (one 4-way decision per image), its domain "
                "losses scaled to the patch D's weight",
    "no_aux": "lsd with a single-branch D: no auxiliary labelling head, no aux terms",
}


def loss_term_names(method):
    """The loss terms a method's step computes, as "<player>/<term>" (e.g. "d/aux").

    The player is "d", "g" or "f" (F and C's update); the terms are those of
    `gta_keras.losses` (`D_TERMS`, ...), before their written coefficients.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; use one of {METHODS}.")
    if method in ("source_only", "target_only"):
        return ("f/segmentation",)
    if method == "feature_d":
        return (tuple(f"d/{term}" for term in losses.FEATURE_D_TERMS)
                + tuple(f"f/{term}" for term in losses.FEATURE_F_TERMS))
    names = []
    for player, terms in (("d", losses.D_TERMS), ("g", losses.G_TERMS),
                          ("f", losses.F_TERMS)):
        names += [f"{player}/{term}" for term in terms
                  if not (method == "no_aux" and term == "aux")]
    return tuple(names)


class StepLosses(dict):
    """The players' losses of one forward pass by name ("d_loss", "g_loss", "f_loss",
    "seg_loss"), and in `terms` every term of them by name (`loss_term_names`)."""

    def __init__(self, player_losses, terms):
        super().__init__(player_losses)
        self.terms = terms


class DomainAdaptationModel(keras.Model):
    """F, C, G and D trained by alternating updates; `call()` is the segmenter C(F(x)).

    Each training step takes a triplet (x_s, y_s, x_t) and updates D, then G, then F and C,
    each from its own loss (see `gta_keras.losses`) with its own optimizer.

    Two readings of the update order are offered:
      * "single_pass" (default, as the reference code): one forward pass; each player's
        gradient of its own loss is taken at the same parameters, then D, G, F are applied.
      * "sequential": each update re-runs the forward pass with the players already
        updated in this step (up to three forward passes).

    `method="source_only"` runs the same code with only the segmenter's update and the
    segmentation loss; G and D are neither run nor changed. The ablations (paper Table 4,
    docs/ablations.md) run on the same path:
      * "target_only": source_only's update, on batches whose labelled images are the
        target's training split (`make_train_dataset.labelled_domain = 'target'`); the
        only method that reads target training labels;
      * "feature_d": no G; D is a 2-class source/target discriminator on F's fc7
        (`feature_discriminator`); updates D, then F and C;
      * "global_d": D makes one 4-way decision per image; its domain cross-entropies are
        scaled to the patch D's weight (`losses.image_level_domain_scale`);
      * "no_aux": D has no auxiliary head, so no player has an auxiliary term.

    Args:
      embedder: F, mapping a mean-subtracted BGR image to {"fc7", "pool4", "pool3"}.
      classifier: C, mapping F's dict to logits at input size.
      generator: G, mapping F's dict to an RGB image in [0, 1]; needed for "lsd",
        "global_d" and "no_aux".
      discriminator: D, mapping an RGB image in [0, 1] to {"domain", "aux"} (no "aux" for
        "no_aux"), or, for "feature_d", F's fc7 to {"domain"} (2 classes).
      method: one of `METHODS`.
      loss_weights: a `losses.LossWeights`.
      reduction: "sum" (reference) or "mean" pixel reduction of the cross-entropies.
      update_reading: "single_pass" or "sequential".
      num_classes: classes of C's output.
      eval_size: (height, width) at which `predict_classes` runs F + C, or None for the
        input size; predictions are resized to the requested size (the label size).
      upsampling: how predictions reach the requested size: "bilinear_logits" or
        "nearest_labels" (the reference code's); see `segmenter.UPSAMPLINGS`.
      adversarial_warmup_steps: for this many first steps F and C learn from the
        segmentation loss alone (alpha = beta = 0) while G and D already train, so that
        F's adversarial signal comes from a D that has learned something. 0 in the paper.
      recompute_embedder_blocks: in training, recompute F's VGG blocks in the backward
        pass instead of keeping their activations (`embedder.call_recomputing_blocks`):
        less memory, one more forward pass of the blocks; the same losses and updates.
      recompute_discriminator_blocks: the same for D's stem and residual branches
        (`discriminator.call_recomputing_blocks`), in the game with G ("lsd",
        "global_d", "no_aux").
      recompute_generator_blocks: the same for G's stages and residual branches
        (`generator.call_recomputing_blocks`).
      d_label_smoothing: label smoothing e of D's domain targets (not of its auxiliary
        labels): (1 - e) on the true domain plus e / K on each of the K domains
        (`losses.domain_cross_entropy`), so that D is never asked to be certain. Only D's
        loss changes; G and F still aim at hard targets. 0 in the paper.
      d_input_noise: standard deviation (in units of the [0, 1] image) of Gaussian noise
        added in training to every image D judges, real or G's (instance noise,
        `instance_noise.InstanceNoise`); the methods with a G only. 0 in the paper.
      d_input_noise_steps: the noise falls linearly to 0 at this step (0: it stays).
      d_r1_weight: gamma of the R1 gradient penalty on D's real images
        (`losses.r1_penalty`), added to D's loss as gamma / 2 * R1 and logged as the term
        "d/r1"; the methods with a G only. 0 in the paper.
    """

    def __init__(self, embedder, classifier, generator=None, discriminator=None,
                 method="lsd", loss_weights=losses.REFERENCE_WEIGHTS, reduction="sum",
                 update_reading="single_pass", num_classes=19, eval_size=None,
                 upsampling="bilinear_logits", adversarial_warmup_steps=0,
                 recompute_embedder_blocks=False, recompute_discriminator_blocks=False,
                 recompute_generator_blocks=False, d_label_smoothing=0.0,
                 d_input_noise=0.0, d_input_noise_steps=0, d_r1_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        if method not in METHODS:
            raise errors.ConfigurationError(
                f"Unknown method {method!r}; use one of {METHODS}.")
        if update_reading not in UPDATE_READINGS:
            raise errors.ConfigurationError(
                f"Unknown update_reading {update_reading!r}; use one of {UPDATE_READINGS}.")
        if "generator" in METHOD_PLAYERS[method] and generator is None:
            raise ValueError(f"method={method!r} needs a generator and a discriminator.")
        if "discriminator" in METHOD_PLAYERS[method] and discriminator is None:
            raise ValueError(f"method={method!r} needs a discriminator.")
        self.embedder = embedder
        self.classifier = classifier
        self.generator = generator
        self.discriminator = discriminator
        self.method = method
        self.loss_weights = losses.LossWeights(*loss_weights)
        losses.check_reduction(reduction)  # At build time, not at the first step's trace.
        self.reduction = reduction
        self.update_reading = update_reading
        self.num_classes = num_classes
        self.eval_size = tuple(eval_size) if eval_size else None
        segmenter.check_upsampling(upsampling)
        self.upsampling = upsampling
        self.adversarial_warmup_steps = adversarial_warmup_steps
        self.recompute_embedder_blocks = bool(recompute_embedder_blocks)
        self.recompute_discriminator_blocks = bool(recompute_discriminator_blocks)
        self.recompute_generator_blocks = bool(recompute_generator_blocks)
        losses.check_label_smoothing(d_label_smoothing)
        self.d_label_smoothing = float(d_label_smoothing)
        instance_noise.check(d_input_noise, d_input_noise_steps)
        # Only when on: no random state, no op and nothing in the checkpoint otherwise.
        self.d_input_noise = (
            instance_noise.InstanceNoise(d_input_noise, d_input_noise_steps)
            if d_input_noise else None)
        losses.check_r1_weight(d_r1_weight)
        self.d_r1_weight = float(d_r1_weight)
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "f_loss", "seg_loss")}
        # The mean of each loss term since someone (`health.TrainingHealth`) last reset
        # it. Not in `metrics`: Keras neither resets them each epoch nor shows them in
        # the logs (whose keys stay the four sums).
        self.term_trackers = {name: keras.metrics.Mean(name=name.replace("/", "_"))
                              for name in self._term_names()}
        self.skipped_steps = keras.metrics.Sum(name="skipped_steps")
        self.skip_nonfinite_steps = False
        self.segmenter_average = None

    def _term_names(self):
        """`loss_term_names(method)`, and "d/r1" when the R1 penalty is on."""
        names = loss_term_names(self.method)
        return names + ("d/r1",) if self.d_r1_weight else names

    @property
    def players(self):
        """The players this method updates, in update order."""
        return METHOD_PLAYERS[self.method]

    @property
    def reads_target_labels(self):
        """Whether training reads the target's labels (only "target_only" does)."""
        return self.method == "target_only"

    def call(self, images, training=False):
        """Segments RGB images in [0, 255] of sides divisible by 32: logits at input size."""
        _, logits = segmenter.segment(self.embedder, self.classifier, images, training)
        return logits

    def compile(self, f_optimizer, g_optimizer=None, d_optimizer=None,
                bias_lr_multiplier=2.0, skip_nonfinite_steps=False, segmenter_ema_decay=None,
                **kwargs):
        """Sets the three optimizers, and the moving average of F and C's weights.

        Args:
          f_optimizer: optimizer of F and C's kernels.
          g_optimizer: optimizer of G (needed by the methods with a G).
          d_optimizer: optimizer of D (needed by the methods with a D).
          bias_lr_multiplier: F and C's biases learn this many times faster (2 in the
            reference, a Caffe habit); they get a copy of f_optimizer with a scaled rate.
          skip_nonfinite_steps: an update whose losses are not all finite moves no weight
            and no optimizer slot (its optimizers' step counters still advance, so the
            step count, the data position and the schedules stay those of the run); the
            logs count such steps as "skipped_steps" and average the losses over the
            others. Off: a non-finite loss reaches the weights, and training's
            `checkpoints.StopOnNonFinite` stops the run. One replica only (several
            replicas would have to agree on every skip).
          segmenter_ema_decay: None (off), or d in (0, 1): every applied update of F
            and C also moves `segmenter_average`, an exponential moving average of their
            trainable weights (`averaging.WeightAverage`), started from their current
            values. A skipped step moves it no more than the weights.
          **kwargs: passed to `keras.Model.compile` (e.g. jit_compile, run_eagerly).
        """
        super().compile(optimizer=None, **kwargs)
        if "generator" in self.players and g_optimizer is None:
            raise ValueError(f"method={self.method!r} needs g_optimizer and d_optimizer.")
        if "discriminator" in self.players and d_optimizer is None:
            raise ValueError(f"method={self.method!r} needs d_optimizer.")
        self.f_optimizer = f_optimizer
        self.f_bias_optimizer = _scaled_copy(f_optimizer, bias_lr_multiplier)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        if skip_nonfinite_steps and tf.distribute.get_strategy().num_replicas_in_sync > 1:
            raise ValueError("skip_nonfinite_steps works on one replica only; turn it off "
                             "to train on several (a non-finite loss then stops training).")
        self.skip_nonfinite_steps = skip_nonfinite_steps
        # Made here, in the strategy's scope when there is one (`experiment.train`). Off:
        # no variable, no op, nothing in the checkpoint.
        self.segmenter_average = (
            None if segmenter_ema_decay is None else
            averaging.WeightAverage(self.player_variables("segmenter"), segmenter_ema_decay))

    @property
    def metrics(self):
        return list(self.trackers.values()) + [self.skipped_steps]

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skips Keras' symbolic build when every layer is built already.

        Under a `tf.distribute` strategy, Keras' `fit` first reads one batch and
        all-reduces it across replicas only to learn its shapes, whether or not the model
        is built. Under `MultiWorkerMirroredStrategy` that reduction fails on a tuple of
        per-replica tensors ("Attempt to convert a value (PerReplica...) with an
        unsupported type", keras-team/keras#20329), before any step. `factory.build_model`
        builds F, C, G and D when it makes them, so only this container is "unbuilt", and
        nothing reads its build state: `train_step` calls the players, not `self`.
        """
        if all(layer.built for layer in self._flatten_layers(include_self=False)):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def player_variables(self, player):
        """Trainable variables a player's update moves."""
        if player == "discriminator":
            return self.discriminator.trainable_variables
        if player == "generator":
            return self.generator.trainable_variables
        if player == "segmenter":
            return self.embedder.trainable_variables + self.classifier.trainable_variables
        raise ValueError(f"Unknown player {player!r}; use one of {PLAYERS}.")

    def optimizers(self):
        """Every optimizer of the model by name (for checkpoints)."""
        named = {"f_optimizer": self.f_optimizer, "f_bias_optimizer": self.f_bias_optimizer}
        if "generator" in self.players:
            named["g_optimizer"] = self.g_optimizer
        if "discriminator" in self.players:
            named["d_optimizer"] = self.d_optimizer
        return named

    def build_optimizers(self):
        """Creates optimizer slots now, so that checkpoints restore them."""
        kernels, biases = self._split_biases(self.player_variables("segmenter"))
        self.f_optimizer.build(kernels)
        self.f_bias_optimizer.build(biases)
        if "generator" in self.players:
            self.g_optimizer.build(self.player_variables("generator"))
        if "discriminator" in self.players:
            self.d_optimizer.build(self.player_variables("discriminator"))

    def compute_losses(self, source_images, source_labels, target_images, training=True):
        """One forward pass and the loss of every player.

        Args:
          source_images: x_s, float [B, H, W, 3] RGB in [0, 255] (for "target_only",
            the target's labelled training images).
          source_labels: y_s, uint8/int [B, H, W, 1] (255 void) (for "target_only", the
            target's labels).
          target_images: x_t, float [B, H, W, 3] RGB in [0, 255]; unlabelled.
          training: whether dropout is active.

        Returns:
          A `StepLosses`: a dict with "f_loss", "seg_loss" and, for the methods with a
          D, "d_loss" and (with a G) "g_loss"; its `terms` hold each term of them
          (`loss_term_names(method)`), from the same pass.
        """
        source_features, logits = segmenter.segment(
            self.embedder, self.classifier, source_images, training,
            self.recompute_embedder_blocks)
        labels = tf.cast(source_labels[..., 0], tf.int32)
        seg_loss = losses.pixel_cross_entropy(labels, logits, self.reduction)
        if self.method in ("source_only", "target_only"):
            return StepLosses({"f_loss": seg_loss, "seg_loss": seg_loss},
                              {"f/segmentation": seg_loss})

        # F alone on the target: it has no labels for C's scores to be compared with.
        target_features = segmenter.embed(
            self.embedder, preprocessing.embedder_input(target_images), training,
            self.recompute_embedder_blocks)
        if self.method == "feature_d":
            return self._feature_d_losses(source_images, source_features,
                                          target_features, logits, labels, seg_loss,
                                          training)
        return self._generator_game_losses(source_images, source_labels, target_images,
                                           source_features, target_features, logits,
                                           labels, seg_loss, training)

    def _generator_game_losses(self, source_images, source_labels, target_images,
                               source_features, target_features, logits, labels,
                               seg_loss, training):
        """The losses of the game with G: "lsd", and its ablations "global_d" and "no_aux".

        The three differ only in D: "global_d"'s domain map is one decision per image (its
        cross-entropies scaled to the patch D's weight under "sum"), "no_aux"'s D has no
        auxiliary head (so no term reads one).
        """
        source_fake = self._generate(source_features, training)
        target_fake = self._generate(target_features, training)
        source_real = preprocessing.unit_range(source_images)
        target_real = preprocessing.unit_range(target_images)
        # In the reference's order (D's dropout draws depend on it): the R1 penalty's tape,
        # when on, watches the two real batches while D judges the first three.
        with_r1 = training and bool(self.d_r1_weight)
        input_tape = (tf.GradientTape(watch_accessed_variables=False) if with_r1
                      else contextlib.nullcontext())
        with input_tape:
            if with_r1:
                input_tape.watch([source_real, target_real])
            d_source_real = self._discriminate(source_real, training)
            d_source_fake = self._discriminate(source_fake, training)
            d_target_real = self._discriminate(target_real, training)
            if with_r1:
                real_loss = self._summed_real_loss(d_source_real, d_target_real,
                                                   tf.shape(source_real)[0])
        d_target_fake = self._discriminate(target_fake, training)
        r1 = (losses.r1_penalty(input_tape.gradient(real_loss, [source_real, target_real]))
              if with_r1 else None)
        # D's labels at its patch resolution: the aux head's ("global_d"'s domain map is
        # 1x1), or the domain head's for "no_aux" (it has no aux head).
        patch_map = d_source_real["aux" if "aux" in d_source_real else "domain"]
        aux_size = tf.shape(patch_map)[1:3]
        aux_labels = preprocessing.labels_at(source_labels, aux_size)
        domain_scale = None
        if self.method == "global_d":
            patch_locations = tf.cast(tf.reduce_prod(aux_size), tf.float32)
            domain_scale = losses.image_level_domain_scale(patch_locations, self.reduction)
        d_terms = losses.d_loss_terms(d_source_real, d_source_fake, d_target_real,
                                      d_target_fake, aux_labels, self.reduction,
                                      domain_scale, self.d_label_smoothing)
        g_terms = losses.g_loss_terms(d_source_fake, d_target_fake, aux_labels,
                                      source_real, source_fake, target_real, target_fake,
                                      self.reduction, domain_scale)
        f_terms = losses.f_loss_terms(logits, labels, d_source_fake, d_target_fake,
                                      aux_labels, self.reduction, domain_scale)
        d_loss = losses.d_total(d_terms)
        if r1 is not None:
            d_loss += 0.5 * self.d_r1_weight * r1
            d_terms["r1"] = r1
        return StepLosses({
            "d_loss": d_loss,
            "g_loss": losses.g_total(g_terms, self.loss_weights),
            "f_loss": losses.f_total(f_terms, self._segmenter_weights()),
            "seg_loss": seg_loss,
        }, _named_terms(d=d_terms, g=g_terms, f=f_terms))

    def _generate(self, features, training):
        """G's image from F's `features`, recomputing its blocks in the backward pass if
        set."""
        if self.recompute_generator_blocks:
            return generator_lib.call_recomputing_blocks(self.generator, features, training)
        return self.generator(features, training=training)

    def _summed_real_loss(self, d_source_real, d_target_real, batch_size):
        """D's real-domain cross-entropy of both real batches, summed over each batch
        (not averaged), so that its gradient for each image is that image's own: what the
        R1 penalty (`losses.r1_penalty`) squares. The outer tape differentiates that
        gradient again for D's update."""
        return tf.cast(batch_size, tf.float32) * (
            losses.domain_cross_entropy(d_source_real["domain"],
                                        discriminator_lib.SOURCE_REAL, self.reduction)
            + losses.domain_cross_entropy(d_target_real["domain"],
                                          discriminator_lib.TARGET_REAL, self.reduction))

    def _discriminate(self, images, training):
        """D's outputs on `images` (plus instance noise in training, if set), recomputing
        its blocks in the backward pass if set."""
        if training and self.d_input_noise is not None:
            # F's step counter: it advances once per step in either reading. A model not
            # yet compiled (a test's forward pass) is at step 0.
            optimizer = getattr(self, "f_optimizer", None)
            step = 0 if optimizer is None else optimizer.iterations
            images = self.d_input_noise(images, step)
        if self.recompute_discriminator_blocks:
            return discriminator_lib.call_recomputing_blocks(self.discriminator, images,
                                                             training)
        return self.discriminator(images, training=training)

    def _feature_d_losses(self, source_images, source_features, target_features, logits,
                          labels, seg_loss, training):
        """The losses of "feature_d": the 2-class game of the feature D on fc7."""
        d_source = self.discriminator(source_features["fc7"], training=training)
        d_target = self.discriminator(target_features["fc7"], training=training)
        image_size = tf.shape(source_images)[1:3]
        patch_locations = tf.cast(
            tf.reduce_prod(image_size // discriminator_lib.OUTPUT_STRIDE), tf.float32)
        feature_locations = tf.cast(tf.reduce_prod(tf.shape(d_source["domain"])[1:3]),
                                    tf.float32)
        domain_scale = losses.feature_domain_scale(patch_locations, feature_locations,
                                                   self.reduction)
        d_terms = losses.feature_d_loss_terms(d_source, d_target, self.reduction,
                                              domain_scale, self.d_label_smoothing)
        f_terms = losses.feature_f_loss_terms(logits, labels, d_source, d_target,
                                              self.reduction, domain_scale)
        return StepLosses({
            "d_loss": losses.d_total(d_terms),
            "f_loss": losses.f_total(f_terms, self._segmenter_weights()),
            "seg_loss": seg_loss,
        }, _named_terms(d=d_terms, f=f_terms))

    def _segmenter_weights(self):
        """Loss weights of the F update: alpha and beta are 0 during the warm-up."""
        if not self.adversarial_warmup_steps:
            return self.loss_weights
        on = tf.cast(self.f_optimizer.iterations >= self.adversarial_warmup_steps,
                     tf.float32)
        return self.loss_weights._replace(alpha=on * self.loss_weights.alpha,
                                          beta=on * self.loss_weights.beta)

    def update(self, player, source_images, source_labels, target_images):
        """Runs a forward pass and applies one player's update from its own loss.

        Args:
          player: "discriminator", "generator" or "segmenter".
          source_images, source_labels, target_images: see `compute_losses`.

        Returns:
          The loss dict of the forward pass.
        """
        return self._update(player, source_images, source_labels, target_images)[0]

    def _update(self, player, source_images, source_labels, target_images):
        """`update`, and whether it was applied (see `_apply_players`)."""
        with tf.GradientTape() as tape:
            step_losses = self.compute_losses(source_images, source_labels, target_images)
        return step_losses, self._apply_players([player], tape, step_losses)

    def train_step(self, data):
        source_images, source_labels, target_images = data
        if self.update_reading == "sequential":
            applied = []
            for player in self.players:
                step_losses, player_applied = self._update(
                    player, source_images, source_labels, target_images)
                applied.append(player_applied)
            applied = tf.reduce_all(applied)
        else:
            # One forward pass; every gradient is taken before any player moves.
            with tf.GradientTape(persistent=True) as tape:
                step_losses = self.compute_losses(source_images, source_labels,
                                                  target_images)
            applied = self._apply_players(self.players, tape, step_losses)
            del tape
        logs = self._log(step_losses, applied)
        if distribution.is_multi_worker(tf.distribute.get_strategy()):
            # Keras reduces every log along axis 0 across workers, which fails on scalars
            # (keras-team/keras#20585): rank-1 logs there, scalars everywhere else.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _log(self, step_losses, applied):
        """Updates the loss and term means (of applied steps only) and the skip count;
        returns the logs (the loss means)."""
        # A test's stand-in for `compute_losses` may return a plain dict: no terms.
        terms = getattr(step_losses, "terms", {})
        if not self.skip_nonfinite_steps:
            for name, value in step_losses.items():
                self.trackers[name].update_state(value)
            for name, value in terms.items():
                self.term_trackers[name].update_state(value)
            return {name: self.trackers[name].result() for name in step_losses}
        weight = tf.cast(applied, tf.float32)
        for trackers, values in ((self.trackers, step_losses), (self.term_trackers, terms)):
            for name, value in values.items():
                # A skipped step's NaN must not reach the mean: weight 0 alone keeps
                # NaN * 0.
                trackers[name].update_state(tf.where(applied, value, 0.0),
                                            sample_weight=weight)
        self.skipped_steps.update_state(1.0 - weight)
        logs = {name: self.trackers[name].result() for name in step_losses}
        logs["skipped_steps"] = self.skipped_steps.result()
        return logs

    def _apply_players(self, players, tape, step_losses):
        """Applies each player's update from `tape`; True when applied.

        With `skip_nonfinite_steps`, the updates are applied only if every loss of the
        forward pass is finite; otherwise each of their optimizers only counts the step.
        """
        # Every gradient is taken before any player moves: the single-pass reading, and
        # needed when a backward pass re-runs a player and reads its weights then
        # (`recompute_discriminator_blocks`, `recompute_generator_blocks`).
        # Each player's backward pass starts once the previous player's gradients exist:
        # the same ops and numbers, but two passes no longer interleave on the inter-op
        # threads and hold their working tensors at once. At 1024x512, recomputed, the
        # peak of live tensors moved between 5.0 and 6.4 GiB from process to process
        # unordered, and stayed at 4.8-5.1 GiB in turn; the 320x160 step is as fast
        # (docs/performance.md, 2026-12-07).
        gradients, previous = {}, []
        for player in players:
            with tf.control_dependencies(previous):
                gradients[player] = self._gradients(player, tape, step_losses)
            previous = [g for g in gradients[player] if g is not None]
        if not self.skip_nonfinite_steps:
            for player in players:
                self._apply_gradients(player, gradients[player])
            return tf.constant(True)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(value))
                                for value in step_losses.values()])

        def apply():
            for player in players:
                self._apply_gradients(player, gradients[player])
            return tf.constant(True)

        def skip():
            for player in players:
                for optimizer in self._player_optimizers(player):
                    optimizer.iterations.assign_add(1)
            return tf.constant(False)

        return tf.cond(finite, apply, skip)

    def predict_classes(self, images, output_size):
        """Class ids at `output_size` for RGB images in [0, 255] of any size."""
        return segmenter.predict_classes(self.embedder, self.classifier, images,
                                         output_size, self.eval_size, self.upsampling)

    def predict_logits(self, images, output_size):
        """Logits at `output_size`: resize to eval_size, segment, resize back.

        Without an eval_size, images are resized to the nearest sides divisible by 32.
        """
        return segmenter.predict_logits(self.embedder, self.classifier, images,
                                        output_size, self.eval_size, self.upsampling)

    def _player_optimizers(self, player):
        """The optimizers of one player's update."""
        if player == "segmenter":
            return [self.f_optimizer, self.f_bias_optimizer]
        return [self.g_optimizer if player == "generator" else self.d_optimizer]

    def _gradients(self, player, tape, step_losses):
        """The player's gradients of its own loss, scaled for the replicas."""
        loss_name = {"discriminator": "d_loss", "generator": "g_loss",
                     "segmenter": "f_loss"}[player]
        variables = self.player_variables(player)
        gradients = tape.gradient(step_losses[loss_name], variables)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            # The optimizers sum gradients over replicas: each replica contributes the
            # gradient of its share of the global batch's mean loss, loss / replicas (the
            # tape may have stopped recording, so the gradients are scaled instead). On
            # one device nothing changes, not even a bit.
            gradients = [None if g is None else g / replicas for g in gradients]
        return gradients

    def _apply_gradients(self, player, gradients):
        """One optimizer step of the player's variables."""
        variables = self.player_variables(player)
        if player == "segmenter":
            pairs = list(zip(gradients, variables))
            bias_pairs = [p for p in pairs if _is_bias(p[1])]
            kernel_pairs = [p for p in pairs if not _is_bias(p[1])]
            self.f_optimizer.apply([g for g, _ in kernel_pairs], [v for _, v in kernel_pairs])
            self.f_bias_optimizer.apply([g for g, _ in bias_pairs], [v for _, v in bias_pairs])
            if self.segmenter_average is not None:  # After both: F and C have moved.
                self.segmenter_average.update(variables)
        elif player == "generator":
            self.g_optimizer.apply(gradients, variables)
        else:
            self.d_optimizer.apply(gradients, variables)

    @staticmethod
    def _split_biases(variables):
        return ([v for v in variables if not _is_bias(v)],
                [v for v in variables if _is_bias(v)])


def _named_terms(**terms_by_player):
    """{"d": {"aux": t}, ...} -> {"d/aux": t, ...}."""
    return {f"{player}/{name}": value for player, terms in terms_by_player.items()
            for name, value in terms.items()}


def _is_bias(variable):
    return variable.path.endswith("/bias") or variable.name == "bias"


def _scaled_copy(optimizer, factor):
    """A fresh optimizer of the same kind whose learning rate is `factor` times larger."""
    config = optimizer.get_config()
    rate = config["learning_rate"]
    if isinstance(rate, dict):  # A serialized schedule.
        rate = _ScaledSchedule(keras.optimizers.schedules.deserialize(rate), factor)
    else:
        rate = float(rate) * factor
    return optimizer.__class__.from_config({**config, "learning_rate": rate})


class _ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A learning-rate schedule multiplied by a constant."""

    def __init__(self, schedule, factor):
        self.schedule = schedule
        self.factor = factor

    def __call__(self, step):
        return self.schedule(step) * self.factor

    def get_config(self):
        return {"schedule": keras.optimizers.schedules.serialize(self.schedule),
                "factor": self.factor}


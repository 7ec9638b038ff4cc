import { assert, assertEquals } from "@std/assert";
import { PreTrainedModel, type Tensor } from "@denoformers/core";
import { testBackends } from "@denoformers/core/testing";
import {
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
} from "./auto.ts";
import { GenericForQuestionAnswering } from "./question_answering.ts";
import { GenericForSequenceClassification } from "./sequence_classification.ts";
import { GenericForTokenClassification } from "./token_classification.ts";
import { built, ToyConfig, ToyModel, toyPlugin, toyRegistry } from "./_toy.ts";
import { ModelRegistry } from "@denoformers/core";

testBackends("the fallback wraps the base model it is given in the generic head", () => {
  const registry = toyRegistry("transformer");
  const cases = [
    [AutoModelForSequenceClassification, GenericForSequenceClassification],
    [AutoModelForQuestionAnswering, GenericForQuestionAnswering],
    [AutoModelForTokenClassification, GenericForTokenClassification],
  ] as const;
  for (const [Auto, Head] of cases) {
    const before = built.count;
    const model = Auto.fromConfig(new ToyConfig(), { registry });
    assert(model instanceof Head, `${Head.name} built`);
    assertEquals(built.count, before + 1, "one base model built and reused");
    assert(model.baseModel instanceof ToyModel);
    assertEquals(model.baseModelPrefix, "transformer");
  }
});

testBackends("a plugin's own head wins over the generic one", () => {
  class ToyForSequenceClassification extends PreTrainedModel {
    readonly baseModelPrefix = "model";
    forward(_ids: Tensor | null) {
      return { logits: null as unknown as Tensor };
    }
  }
  const registry = new ModelRegistry().register(
    toyPlugin("model", {
      sequenceClassification: (config) => new ToyForSequenceClassification(config),
    }),
  );
  const config = new ToyConfig();
  assert(
    AutoModelForSequenceClassification.fromConfig(config, { registry }) instanceof
      ToyForSequenceClassification,
  );
  assert(
    AutoModelForTokenClassification.fromConfig(config, { registry }) instanceof
      GenericForTokenClassification,
  );
});

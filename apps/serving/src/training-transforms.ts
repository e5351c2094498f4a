/**
 * The fitted transformations of training sets, read from the registry once per set (a done set never changes), so
 * an online answer for `training_set: <id>` is scaled and encoded with the very statistics its rows were.
 */
import { type FittedTransform, invalidInput, StrataError, unknownObject } from '@strata/core';
import { type Pool, qualified } from '@strata/offline-postgres';

export class TrainingSetTransforms {
  private readonly cache = new Map<string, { project: string; featureService: string | undefined; fitted: FittedTransform[] }>();

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  async get(project: string, id: string, featureService: string): Promise<FittedTransform[]> {
    let entry = this.cache.get(id);
    if (!entry) {
      const { rows } = await this.pool.query<{
        project: string;
        status: string;
        spec: { derived?: { featureService?: string } };
        transformations: FittedTransform[] | null;
      }>(`SELECT project, status, spec, transformations FROM ${qualified(this.schema, 'training_sets')} WHERE id = $1`, [id]);
      const r = rows[0];
      if (!r || r.project !== project) throw unknownObject('training set', id, [], { where: 'training_set' });
      if (r.status !== 'done') {
        throw new StrataError('CONFLICT', `training set '${id}' is ${r.status}: its transformations are fitted when it is done`, {
          where: 'training_set',
          hint: 'wait for the training-set workflow to finish',
        });
      }
      entry = { project: r.project, featureService: r.spec.derived?.featureService, fitted: r.transformations ?? [] };
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(id, entry);
    }
    if (entry.featureService !== featureService) {
      throw invalidInput(
        `training set '${id}' was built from ${entry.featureService ? `feature service '${entry.featureService}'` : 'a list of features'}, not from '${featureService}'`,
        { where: 'training_set', hint: 'name the feature service the training set was built from' },
      );
    }
    return entry.fitted;
  }
}

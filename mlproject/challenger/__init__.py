"""The challenger trial: shadow scoring from the log, evidence, the sequential decision.

Map of the package:
  settings      ScorerSettings: what ``python -m mlproject.challenger`` reads, once
  trial         Trial (champion and challenger versions) from the registry's aliases
  models        the versions as bare estimators, loaded once, logging nothing
  horizon       how far the log may be read without passing a row committed late
  shadow_store  new log rows, shadow rows and the cursor, committed together
  scoring       each row scored by the other version of the pair
  sequential    the always-valid test: beta-mixture SPRT, confidence sequences
  evidence      PairCounts -> rates, Wilson intervals, the decision (pure)
  pairs         PairCounts of a trial from the log store (scorer and sidecar alike)
  decisions     challenger_decisions rows, a terminal decision held once reached
  actions       IRIS_AUTO_PROMOTE: move @champion or stop the canary; evidence on the version
  scorer        ShadowScorer: the loop; ``__main__`` runs it until SIGTERM
"""

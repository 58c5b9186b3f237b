"""One ticker's forecaster: its windows and scaler, the model beside its naive baselines, its intervals."""

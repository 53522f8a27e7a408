"""The five SimpleBank services, one package each: gateway, orders, accounts, fees, market."""

NAMES = ("gateway", "orders", "accounts", "fees", "market")

"""Merchants: the 普惠 discount network — merchants, stores, offers, till redemptions, settlement."""
